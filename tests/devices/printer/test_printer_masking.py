"""Identity and mobile numbers come out masked, whatever a caller puts in a document."""

from __future__ import annotations

import pytest

from devices.printer import Document, Line, SimulatedPrinter, mask_personal_numbers, render
from devices.printer.commands import encode_text
from devices.printer.stream import decode

ID = "11010519491231002X"  # valid (python-stdnum): Beijing Chaoyang, born 1949-12-31
ID_MASKED = "110105********002X"
BIRTH_DATE = "19491231"
PHONE = "13812345678"
PHONE_MASKED = "138****5678"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (ID, ID_MASKED),
        ("11010519491231002x", "110105********002x"),
        (f"身份证号{ID}。", f"身份证号{ID_MASKED}。"),  # hanzi right against the digits
        (f"id={ID}&x=1", f"id={ID_MASKED}&x=1"),
        ("ID" + ID, "ID" + ID_MASKED),  # letters before it do not protect it
        ("110105194912310021", "110105********0021"),  # wrong checksum: still somebody's number
        ("１１０１０５１９４９１２３１００２Ｘ", "１１０１０５********００２Ｘ"),  # full-width
        (PHONE, PHONE_MASKED),
        ("电话：138 1234 5678", "电话：138****5678"),
        ("138-1234-5678", "138****5678"),
        ("+86 13812345678", "+86 138****5678"),
        ("8613812345678", "86138****5678"),
        (f"{ID}/{PHONE}", f"{ID_MASKED}/{PHONE_MASKED}"),
    ],
)
def test_personal_numbers_are_masked(text: str, masked: str) -> None:
    assert mask_personal_numbers(text) == masked
    assert mask_personal_numbers(masked) == masked  # idempotent


@pytest.mark.parametrize(
    "text",
    [
        "91350100M000100Y43",  # credit code with letters
        "914403001922038216",  # all-digit credit code, valid checksum: public, kept
        "GA202405010001",  # receipt number
        "KIOSK-0042-20240501-0001",  # kiosk/'s receipt number format
        "1101051949123100211",  # 19 digits: not an identity number
        "123456789012345678",  # no province code, no birth date
        "110105199913310021",  # month 13: not a birth date
        "010-12345678",  # landline: an office's number
        "12345",  # the government service hotline
        "23812345678",  # not a mobile prefix
        "2024-05-01 14:30",
    ],
)
def test_other_numbers_are_left_alone(text: str) -> None:
    assert mask_personal_numbers(text) == text


def _every_field_holds(number: str) -> Document:
    return Document(
        title=f"回执{number}",
        subtitle=f"（{number}）",
        lines=(Line("身份证号", number), Line(f"证件{number}", "x")),
        qr=f"https://zwfw.example.gov.cn/v?id={number}",
        qr_caption=f"扫码{number}",
        footer=(f"持证人{number}",),
    )


@pytest.mark.parametrize(("number", "masked"), [(ID, ID_MASKED), (PHONE, PHONE_MASKED)])
def test_no_field_of_a_document_can_print_a_full_number(number: str, masked: str) -> None:
    job = render(_every_field_holds(number))
    assert number.encode("gb18030") not in job
    printed = decode(job)
    assert number not in printed.text
    on_paper = "".join(printed.lines)  # the double-size title wraps at 16 columns
    assert on_paper.count(masked) == 6  # title, subtitle, value, label, caption, footer
    assert printed.qr_codes == (f"https://zwfw.example.gov.cn/v?id={masked}",)


def test_a_number_is_masked_before_it_is_wrapped_across_two_lines() -> None:
    # 24 columns of text first: the number would start near the end of a 32-column row
    document = Document(title="回执", footer=("请凭本人证件办理业务，证件号" + ID,))
    job = render(document, columns=32)
    assert b"1949" not in job and b"1231" not in job  # not even half a birth date per row
    rows = decode(job).lines
    assert "".join(row.strip() for row in rows[-3:]).endswith(ID_MASKED)


def test_a_control_character_cannot_hide_a_number_from_the_mask() -> None:
    sneaky = ID[:6] + "\x1b" + ID[6:]  # clean() drops the ESC and joins the digits
    job = render(Document(title="回执", lines=(Line("证件", sneaky),)))
    assert BIRTH_DATE.encode() not in job
    assert f"证件：{ID_MASKED}" in decode(job).lines


def test_text_encoding_masks_even_outside_render() -> None:
    assert encode_text(f"号码{ID}") == f"号码{ID_MASKED}".encode("gb18030")


def test_simulated_receipt_with_an_identity_number_prints_masked_bytes_only() -> None:
    printer = SimulatedPrinter()
    printer.print_document(
        Document(title="受理回执", lines=(Line("身份证号", ID), Line("手机号码", PHONE)))
    )
    assert ID.encode() not in printer.output
    assert PHONE.encode() not in printer.output
    lines = printer.decoded().lines
    assert f"身份证号：{ID_MASKED}" in lines
    assert f"手机号码：{PHONE_MASKED}" in lines
