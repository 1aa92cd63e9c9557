"""The bytes of a job: pinned exactly, and read back the way a printer would."""

from __future__ import annotations

from datetime import datetime

import pytest
from escpos.constants import QR_ECLEVEL_M
from escpos.printer import Dummy

from devices.printer import Document, Line, SimulatedPrinter, printer_test_page, render
from devices.printer.commands import display_width, encode_text, qr_code
from devices.printer.documents import CHARSET_SAMPLE
from devices.printer.stream import as_text, parse

QR_URL = "https://v.example.cn/1"
PRINTED_AT = datetime(2024, 5, 1, 14, 30)


def test_receipt_job_bytes_are_exact() -> None:
    document = Document(
        title="受理回执", lines=(Line("申请人", "张*"),), qr=QR_URL, footer=("请保管",)
    )
    url = QR_URL.encode()
    expected = (
        b"\x1b@"  # ESC @ initialise
        b"\x1c&"  # FS & Chinese mode
        b"\x1ba\x01\x1d!\x11\x1bE\x01"  # centre, double size, bold
        b"\xca\xdc\xc0\xed\xbb\xd8\xd6\xb4\n"  # 受理回执 in GB18030
        b"\x1bE\x00\x1d!\x00\x1ba\x00"  # bold off, normal size, left
        + b"-" * 32
        + b"\n"
        + b"\xc9\xea\xc7\xeb\xc8\xcb\xa3\xba\xd5\xc5*\n"  # 申请人：张*
        + b"-" * 32
        + b"\n"
        + b"\x1ba\x01"  # centre the QR code
        + b"\x1d(k\x04\x001A2\x00"  # model 2
        + b"\x1d(k\x03\x001C\x06"  # module size 6
        + b"\x1d(k\x03\x001E1"  # error correction M
        + b"\x1d(k"
        + bytes([len(url) + 3, 0])
        + b"1P0"
        + url  # store
        + b"\x1d(k\x03\x001Q0"  # print
        + b"\n"
        + b"\xc7\xeb\xb1\xa3\xb9\xdc\n"  # 请保管
        + b"\x1ba\x00\x1dVB\x00"  # left, feed and partial cut
    )
    assert render(document, columns=32) == expected


def test_qr_sequence_matches_python_escpos_native_qr() -> None:
    reference = Dummy()
    reference.qr(QR_URL, native=True, size=6, ec=QR_ECLEVEL_M)
    assert qr_code(QR_URL, module=6, ec="M") == reference.output


def test_chinese_is_encoded_as_gb18030_not_utf8() -> None:
    assert encode_text("中文") == b"\xd6\xd0\xce\xc4"
    assert encode_text("㐀") == b"\x81\x39\xee\x39"  # four-byte GB18030, absent from GBK


def test_chinese_round_trips_through_the_printed_text() -> None:
    sim = SimulatedPrinter(columns=32)
    sim.print_document(printer_test_page(printer="sim", printed_at=PRINTED_AT, columns=32))
    printed = sim.as_text()
    for sample in CHARSET_SAMPLE:
        assert sample in printed
    assert "�" not in printed


def test_without_chinese_mode_a_printer_prints_mojibake(receipt) -> None:
    job = render(receipt).replace(b"\x1c&", b"", 1)
    assert "受理回执" not in as_text(job)
    assert "受理回执" in as_text(render(receipt))


def test_control_characters_in_data_cannot_inject_commands() -> None:
    hostile = Document(title="回执", lines=(Line("申请人", "张\x1bi\x1dVA\x00三\x1b@"),))
    ops, used = parse(render(hostile))
    kinds = [op.kind for op in ops]
    assert used == len(render(hostile))
    assert kinds.count("cut") == 1 and kinds[-1] == "cut"
    assert kinds.count("init") == 1 and kinds[0] == "init"


def test_long_values_wrap_within_the_paper_without_splitting_characters() -> None:
    service = "城乡居民基本养老保险参保登记及待遇领取资格认证" * 2
    document = Document(title="受理回执", lines=(Line("办理事项", service),))
    printed = as_text(render(document, columns=32), columns=32).splitlines()
    rows = [row for row in printed if row.strip() and not row.startswith(("-", "✂"))][1:]
    assert len(rows) > 2
    assert all(display_width(row) <= 32 for row in rows)
    rejoined = "".join(row.strip() for row in rows)
    assert rejoined == "办理事项：" + service


def test_an_oversized_qr_payload_is_refused_before_printing() -> None:
    sim = SimulatedPrinter()
    too_long = Document(title="回执", qr="x" * 3000)
    with pytest.raises(ValueError, match="exceeds"):
        sim.print_document(too_long)
    assert sim.output == b""
