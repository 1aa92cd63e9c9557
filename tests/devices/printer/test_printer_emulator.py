"""The TCP emulator decodes what it receives: GB18030 text, QR payloads, cuts, masking."""

from __future__ import annotations

from datetime import datetime

from escpos.printer import Network

from devices.printer import Document, Line, printer_from_config, printer_test_page
from devices.printer.documents import CHARSET_SAMPLE
from devices.printer.emulator import PrinterEmulator

ID = "11010519491231002X"
PHONE = "13812345678"
URL = "https://zwfw.example.gov.cn/v/GA202405010001"


def test_receipt_is_decoded_text_qr_and_cut(network_printer, printer_emulator, receipt) -> None:
    network_printer.print_document(receipt)
    (printed,) = printer_emulator.wait_for_receipts(1)
    assert printed.lines[0] == "受理回执"
    for row in (
        "受理编号：GA202405010001",
        "办理事项：居民身份证换领",
        "申请人：张**",
        "受理时间：2024-05-01 14:30",
        "受理单位：朝阳区政务服务中心",
        "请妥善保管本回执",
    ):
        assert row in printed.lines
    assert "张三丰" not in printed.text
    assert printed.qr_codes == (URL,)
    assert printed.cuts == 1 and printed.ends_with_cut
    order = [kind if kind != "text" else text for kind, text in printed.items]
    assert order.index("qr") < order.index("扫码查询办理进度") < order.index("cut")


def test_identity_and_phone_numbers_reach_the_emulator_masked(
    network_printer, printer_emulator
) -> None:
    document = Document(
        title="受理回执",
        lines=(Line("申请人证件号", ID), Line("联系电话", PHONE)),
        qr=f"https://zwfw.example.gov.cn/v?id={ID}",
        footer=(f"如有疑问请致电{PHONE}",),
    )
    network_printer.print_document(document)
    (job,) = printer_emulator.wait_for_jobs(1)
    assert ID.encode() not in job and PHONE.encode() not in job
    assert b"19491231" not in job
    (printed,) = printer_emulator.receipts
    assert "申请人证件号：110105********002X" in printed.lines
    assert "联系电话：138****5678" in printed.lines
    assert "如有疑问请致电138****5678" in printed.lines
    assert printed.qr_codes == ("https://zwfw.example.gov.cn/v?id=110105********002X",)


def test_test_page_hanzi_and_four_byte_characters_decode(network_printer, printer_emulator) -> None:
    page = printer_test_page(printer="network", printed_at=datetime(2024, 5, 1), columns=32)
    network_printer.print_document(page)
    (printed,) = printer_emulator.wait_for_receipts(1)
    for sample in CHARSET_SAMPLE:
        assert sample in printed.lines
    assert "�" not in printed.text
    assert printed.qr_codes == ("TEST-PAGE-20240501000000",)


def test_emulator_decodes_a_job_built_by_python_escpos_itself(printer_emulator) -> None:
    """An independent encoder (python-escpos's qr() and cut()) against our decoder."""
    sender = Network(printer_emulator.host, printer_emulator.port, timeout=2)
    sender.open()
    sender._raw(b"\x1b@\x1c&" + "政务服务 㐀".encode("gb18030") + b"\n")
    sender.qr("https://example.cn/q?a=1", native=True)
    sender.cut()
    sender.close()
    (printed,) = printer_emulator.wait_for_receipts(1)
    assert printed.lines[0] == "政务服务 㐀"
    assert printed.qr_codes == ("https://example.cn/q?a=1",)
    assert printed.cuts == 1


def test_without_chinese_mode_the_emulator_shows_mojibake(printer_emulator) -> None:
    sender = Network(printer_emulator.host, printer_emulator.port, timeout=2)
    sender.open()
    sender._raw(b"\x1b@" + "受理回执".encode("gb18030") + b"\n")
    sender.close()
    (printed,) = printer_emulator.wait_for_receipts(1)
    assert "受理回执" not in printed.text
    assert printed.cuts == 0 and not printed.ends_with_cut


def test_emulator_knobs_change_what_the_driver_reads() -> None:
    with PrinterEmulator(paper="low") as emulator:
        printer = printer_from_config(emulator.config, timeout=1.0)
        assert printer.paper() == "low"
        emulator.paper = "out"
        assert printer.health().paper == "out"
        emulator.paper, emulator.cover_open = "ok", True
        assert printer.status().cover_open
        emulator.cover_open, emulator.answer_status = False, False
        assert printer.health().state == "unknown"
