"""One configuration string picks the transport; a malformed one is a configuration error."""

from __future__ import annotations

import pytest
from escpos.printer import Network, Serial, Usb

from devices.printer import Document, EscPosPrinter, SimulatedPrinter, printer_from_config


def _transport(printer: EscPosPrinter):
    return printer._transport


def test_usb_ids_are_hex() -> None:
    transport = _transport(printer_from_config("usb:0416:5011"))
    assert isinstance(transport, Usb)
    assert transport.usb_args == {"idVendor": 0x0416, "idProduct": 0x5011}
    assert transport.timeout == 500  # milliseconds: 0 would make pyusb wait forever


@pytest.mark.parametrize(
    ("config", "device", "baud"),
    [
        ("serial:/dev/ttyS0", "/dev/ttyS0", 9600),
        ("serial:/dev/ttyUSB1:115200", "/dev/ttyUSB1", 115200),
    ],
)
def test_serial_device_and_baud(config: str, device: str, baud: int) -> None:
    transport = _transport(printer_from_config(config))
    assert isinstance(transport, Serial)
    assert (transport.devfile, transport.baudrate) == (device, baud)


@pytest.mark.parametrize(
    ("config", "host", "port"),
    [("network:127.0.0.1", "127.0.0.1", 9100), ("network:localhost:9101", "localhost", 9101)],
)
def test_network_host_and_port(config: str, host: str, port: int) -> None:
    transport = _transport(printer_from_config(config, timeout=1.5))
    assert isinstance(transport, Network)
    assert (transport.host, transport.port, transport.timeout) == (host, port, 1.5)


def test_sim_is_the_simulator_with_the_paper_width() -> None:
    printer = printer_from_config("sim", columns=48)
    assert isinstance(printer, SimulatedPrinter)
    assert printer.columns == 48


@pytest.mark.parametrize(
    "config",
    ["", "lpt:1", "usb:zz:5011", "usb:0416", "usb:0:5011", "serial:", "network:", "network:h:",
     "network:h:99999", "network:h:port", "sim:empty"],
)  # fmt: skip
def test_malformed_config_is_a_value_error(config: str) -> None:
    with pytest.raises(ValueError, match="printer config"):
        printer_from_config(config)


@pytest.mark.parametrize(
    ("config", "query"),
    [
        ("network:127.0.0.1", "dle-eot"),
        ("network:127.0.0.1:9100?status=gs-r", "gs-r"),
        ("serial:/dev/ttyS0:115200?status=none", "none"),
        ("usb:0416:5011?status=dle-eot", "dle-eot"),
        ("sim?status=none", "none"),
    ],
)
def test_status_option_picks_how_status_is_read(config: str, query: str) -> None:
    assert printer_from_config(config).status_query == query


def test_status_option_keeps_the_address_intact() -> None:
    transport = _transport(printer_from_config("serial:/dev/ttyUSB0:115200?status=none"))
    assert (transport.devfile, transport.baudrate) == ("/dev/ttyUSB0", 115200)


@pytest.mark.parametrize(
    "config", ["network:h?status=maybe", "network:h?paper=ok", "usb:0416:5011?status"]
)
def test_malformed_status_option_is_a_value_error(config: str) -> None:
    with pytest.raises(ValueError, match="printer config"):
        printer_from_config(config)


def test_simulator_with_status_none_prints_blind_and_reports_unknown() -> None:
    printer = printer_from_config("sim:out?status=none")
    assert printer.health().state == "unknown"
    printer.print_document(Document(title="回执"))  # nothing asked, so nothing refused
    assert printer.virtual.queries == []
    assert printer.output  # into an empty printer: the risk that status=none accepts
