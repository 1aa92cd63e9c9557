"""Nothing from a vendor library leaves devices/printer: errors, imports, public names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import serial
import usb.core
from escpos import exceptions as escpos_errors
from escpos.escpos import Escpos

import devices.printer
from devices.errors import DeviceUnavailable, PrinterError
from devices.printer import EscPosPrinter, printer_from_config

REPO = Path(devices.printer.__file__).resolve().parents[2]


class FailingTransport(Escpos):
    """A transport whose connection or write fails with one vendor exception."""

    def __init__(self, error: BaseException, *, on: str) -> None:
        Escpos.__init__(self)
        self.error, self.on = error, on

    def open(self) -> None:
        if self.on == "open":
            raise self.error

    def _raw(self, msg: bytes) -> None:
        if self.on == "write":
            raise self.error

    def _read(self) -> bytes:
        return b"\x12"  # status OK, so a write failure comes from the job itself


@pytest.mark.parametrize(
    ("error", "on", "expected"),
    [
        (usb.core.USBError("pipe error"), "write", DeviceUnavailable),
        (usb.core.NoBackendError("no libusb"), "open", DeviceUnavailable),
        (serial.SerialException("port vanished"), "open", DeviceUnavailable),
        (ConnectionResetError("reset by peer"), "write", DeviceUnavailable),
        (escpos_errors.DeviceNotFoundError("gone"), "open", DeviceUnavailable),
        (escpos_errors.TextError("bad text"), "write", PrinterError),
    ],
)
def test_vendor_errors_become_device_errors(receipt, error, on, expected) -> None:
    printer = EscPosPrinter(FailingTransport(error, on=on), name="fake")
    with pytest.raises(expected) as caught:
        printer.print_document(receipt)
    assert caught.value.__cause__ is error
    assert printer.health().state in ("absent", "fault")


def test_health_never_raises_even_on_a_bug_in_a_transport() -> None:
    printer = EscPosPrinter(FailingTransport(RuntimeError("bug"), on="open"), name="fake")
    health = printer.health()
    assert (health.state, health.paper) == ("unknown", "unknown")


def test_usb_printer_that_is_not_plugged_in_is_unavailable(receipt) -> None:
    printer = printer_from_config("usb:0x0416:0x5011")  # real pyusb and libusb, no such device
    with pytest.raises(DeviceUnavailable):
        printer.print_document(receipt)
    assert printer.health().state == "absent"


def test_serial_printer_on_a_missing_port_is_unavailable(receipt) -> None:
    printer = printer_from_config("serial:/dev/ttyNO-SUCH-PORT")
    with pytest.raises(DeviceUnavailable) as caught:
        printer.print_document(receipt)
    assert caught.value.__cause__ is not None


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def test_only_devices_printer_imports_escpos() -> None:
    allowed = (REPO / "devices" / "printer", REPO / "tests" / "devices" / "printer")
    skip = {".venv", "var", ".git", "node_modules"}
    offenders = [
        str(path.relative_to(REPO))
        for path in REPO.rglob("*.py")
        if not skip.intersection(path.relative_to(REPO).parts)
        and not any(path.is_relative_to(folder) for folder in allowed)
        and "escpos" in _imports(path)
    ]
    assert offenders == []


def test_public_surface_is_pinned() -> None:
    assert sorted(devices.printer.__all__) == [
        "Document",
        "EscPosPrinter",
        "Line",
        "PaperLevel",
        "Printer",
        "PrinterStatus",
        "SimulatedPrinter",
        "application_receipt",
        "certificate_print",
        "mask_name",
        "mask_personal_numbers",
        "printer_from_config",
        "printer_test_page",
        "render",
        "status_report",
    ]
