"""The slips the kiosk prints, as data: wording, masking, required parts."""

from __future__ import annotations

from dataclasses import astuple
from datetime import datetime

import pytest

from devices.printer import (
    certificate_print,
    mask_name,
    printer_test_page,
    status_report,
)
from devices.printer.commands import display_width

AT = datetime(2024, 5, 1, 9, 5)


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三", "张*"),
        ("李小明", "李**"),
        ("欧阳娜娜", "欧***"),
        ("王", "王"),
        ("", ""),
        (" 张三 ", "张*"),
    ],
)
def test_mask_name_keeps_only_the_first_character(name: str, masked: str) -> None:
    assert mask_name(name) == masked


def test_application_receipt_carries_number_service_masked_name_time_and_qr(receipt) -> None:
    rows = {line.label: line.value for line in receipt.lines}
    assert receipt.title == "受理回执"
    assert rows["受理编号"] == "GA202405010001"
    assert rows["办理事项"] == "居民身份证换领"
    assert rows["申请人"] == "张**"
    assert rows["受理时间"] == "2024-05-01 14:30"
    assert receipt.qr == "https://zwfw.example.gov.cn/v/GA202405010001"
    assert "张三丰" not in repr(astuple(receipt))


def test_certificate_print_has_verification_code_and_qr() -> None:
    doc = certificate_print(
        title="营业执照",
        holder="赵六",
        licence_no="91110105MA01ABCD2X",
        issuer="北京市朝阳区市场监督管理局",
        issued_on="2023-06-18",
        verification_code="7K3Q-9XPA",
        verify_url="https://zwfw.example.gov.cn/c/7K3Q9XPA",
        printed_at=AT,
    )
    rows = {line.label: line.value for line in doc.lines}
    assert rows["核验码"] == "7K3Q-9XPA"
    assert rows["持证人"] == "赵*"
    assert doc.qr == "https://zwfw.example.gov.cn/c/7K3Q9XPA"
    assert doc.qr_caption == "扫码核验真伪"


@pytest.mark.parametrize("columns", [32, 48])
def test_test_page_ruler_fills_exactly_one_line(columns: int) -> None:
    doc = printer_test_page(printer="usb:0416:5011", printed_at=AT, columns=columns)
    assert display_width(doc.footer[0]) == columns
    assert doc.qr is not None


def test_status_report_accepts_a_mapping_or_pairs_in_order() -> None:
    pairs = [("打印机", "正常"), ("纸张", "将尽"), ("软件版本", "0.1.0")]
    from_pairs = status_report(kiosk_id="kiosk-0042", printed_at=AT, items=pairs)
    from_mapping = status_report(kiosk_id="kiosk-0042", printed_at=AT, items=dict(pairs))
    assert from_pairs == from_mapping
    assert [line.label for line in from_pairs.lines] == [
        "终端编号",
        "时间",
        "打印机",
        "纸张",
        "软件版本",
    ]
