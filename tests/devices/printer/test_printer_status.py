"""Status bits: what the driver decodes and what the virtual printer answers agree with the manual."""

from __future__ import annotations

import pytest
from escpos.printer import Network

from devices.printer.emulator import PrinterEmulator
from devices.printer.status import (
    QUERY_PAPER,
    QUERY_PAPER_GS_R,
    QUERY_PRINTER,
    paper_from_dle_eot,
    paper_from_gs_r,
)
from devices.printer.virtual import VirtualPrinter


@pytest.mark.parametrize(
    ("reply", "level"),
    [
        (b"\x12", "ok"),
        (b"\x1e", "low"),  # near-end bits 2,3
        (b"\x72", "out"),  # paper-end bits 5,6
        (b"\x7e", "out"),
        (b"\x16", "low"),  # one near-end bit is enough
        (b"", "unknown"),  # no answer
        (b"\x00", "unknown"),  # fixed bits missing: not a status byte
        (b"\xff", "unknown"),
    ],
)
def test_dle_eot_4_paper_bits(reply: bytes, level: str) -> None:
    assert paper_from_dle_eot(reply) == level


@pytest.mark.parametrize(
    ("reply", "level"),
    [
        (b"\x00", "ok"),
        (b"\x03", "low"),
        (b"\x0c", "out"),
        (b"\x0f", "out"),
        (b"", "unknown"),
        (b"\x90", "unknown"),
    ],
)
def test_gs_r_1_paper_bits(reply: bytes, level: str) -> None:
    assert paper_from_gs_r(reply) == level


@pytest.mark.parametrize(
    ("paper", "printer", "dle_eot_4", "gs_r_1"),
    [
        ("ok", b"\x12", b"\x12", b"\x00"),
        ("low", b"\x12", b"\x1e", b"\x03"),
        ("out", b"\x1a", b"\x7e", b"\x0f"),
    ],
)
def test_virtual_printer_replies_like_a_real_one(paper, printer, dle_eot_4, gs_r_1) -> None:
    virtual = VirtualPrinter(paper=paper)
    assert virtual.receive(QUERY_PRINTER) == printer
    assert virtual.receive(QUERY_PAPER) == dle_eot_4
    assert virtual.receive(QUERY_PAPER_GS_R) == gs_r_1
    assert virtual.printed == b""  # queries are not print data


def test_a_query_split_across_reads_is_still_answered_once() -> None:
    virtual = VirtualPrinter(paper="low")
    assert virtual.receive(b"\x10") == b""
    assert virtual.receive(b"\x04") == b""
    assert virtual.receive(b"\x04") == b"\x1e"


def test_qr_data_that_looks_like_a_query_is_not_answered() -> None:
    virtual = VirtualPrinter()
    store = b"\x1d(k\x06\x001P0\x10\x04\x04"  # QR data bytes: DLE EOT 4
    assert virtual.receive(store) == b""
    assert virtual.printed == store


@pytest.mark.parametrize(("paper", "escpos_says"), [("ok", 2), ("low", 1), ("out", 0)])
def test_python_escpos_reads_the_emulator_paper_state(paper: str, escpos_says: int) -> None:
    """An independent decoder (python-escpos's own) agrees with the emulator's bits."""
    with PrinterEmulator(paper=paper) as emulator:
        printer = Network(emulator.host, emulator.port, timeout=2)
        printer.open()
        try:
            assert printer.paper_status() == escpos_says
            assert printer.is_online() == (paper != "out")
        finally:
            printer.close()
