"""Fixtures for the receipt printer: the simulator, the TCP emulator, sample documents."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import datetime

import pytest

from devices.printer import (
    Document,
    EscPosPrinter,
    SimulatedPrinter,
    application_receipt,
    printer_from_config,
)
from devices.printer.emulator import PrinterEmulator

SUBMITTED_AT = datetime(2024, 5, 1, 14, 30)


@pytest.fixture
def receipt() -> Document:
    return application_receipt(
        receipt_no="GA202405010001",
        service="居民身份证换领",
        applicant="张三丰",
        submitted_at=SUBMITTED_AT,
        verify_url="https://zwfw.example.gov.cn/v/GA202405010001",
        office="朝阳区政务服务中心",
    )


@pytest.fixture
def sim_printer() -> SimulatedPrinter:
    return SimulatedPrinter()


@pytest.fixture
def printer_emulator() -> Iterator[PrinterEmulator]:
    with PrinterEmulator() as emulator:
        yield emulator


@pytest.fixture
def network_printer(printer_emulator: PrinterEmulator) -> EscPosPrinter:
    """The real python-escpos Network transport, pointed at the emulator."""
    return printer_from_config(printer_emulator.config, timeout=2.0)


@pytest.fixture
def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
