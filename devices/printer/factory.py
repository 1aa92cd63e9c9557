"""One factory: a configuration string in, a ``Printer`` out.

=============================  ==================================================
``usb:VID:PID``                USB printer, ids in hex (``usb:0x0416:0x5011``)
``serial:DEVICE[:BAUD]``       serial printer (``serial:/dev/ttyS0``, 9600 baud default)
``network:HOST[:PORT]``        raw TCP printer (IPv4 or a name), port 9100 by default
``sim[:ok|low|out]``           the built-in simulator, optionally with its paper level
``<any of these>?status=Q``    how status is read: ``dle-eot`` (default), ``gs-r``, ``none``
=============================  ==================================================

``?status=gs-r`` is for printers that answer ``GS r`` but not ``DLE EOT``;
``?status=none`` declares a link that cannot carry replies (a serial cable
without its receive line, a print server that only forwards): such a printer
prints without any paper check, which an operator must choose knowingly.
Every other printer that does not answer is refused (``printer.status_unknown``).

Nothing is opened here: the driver connects for each job, so a kiosk that
boots before its printer is powered still starts.
"""

from __future__ import annotations

import logging

from .driver import EscPosPrinter
from .simulator import SimulatedPrinter
from .status import STATUS_QUERIES, StatusQuery

logger = logging.getLogger(__name__)

DEFAULT_PORT = 9100
DEFAULT_BAUD = 9600


def _hex_id(text: str, what: str, config: str) -> int:
    try:
        value = int(text, 16)
    except ValueError:
        raise ValueError(f"printer config {config!r}: {what} {text!r} is not hex") from None
    if not 0 < value <= 0xFFFF:
        raise ValueError(f"printer config {config!r}: {what} {text!r} out of range")
    return value


def _host_port(rest: str, config: str) -> tuple[str, int]:
    host, colon, port_text = rest.partition(":")
    if not host:
        raise ValueError(f"printer config {config!r}: no host")
    if not colon:
        return host, DEFAULT_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"printer config {config!r}: bad port {port_text!r}")
    return host, int(port_text)


def _status_option(options: str, config: str) -> StatusQuery | None:
    if not options:
        return None
    key, _, value = options.partition("=")
    if key != "status" or value not in STATUS_QUERIES:
        raise ValueError(
            f"printer config {config!r}: expected ?status=dle-eot, ?status=gs-r or ?status=none"
        )
    return value  # type: ignore[return-value]


def printer_from_config(
    config: str,
    *,
    columns: int = 32,
    timeout: float = 0.5,
    qr_module: int = 6,
    status_query: StatusQuery | None = None,
) -> EscPosPrinter:
    """Build the printer named by ``config`` (see the table above).

    ``timeout`` bounds each connect, write and status read, in seconds; it
    keeps ``health()`` quick when a printer is switched off. Raises
    ``ValueError`` for a malformed string: that is a configuration mistake,
    not a device fault. ``status_query``, when given, overrides ``?status=``.
    """
    address, _, option_text = config.strip().partition("?")
    kind, _, rest = address.partition(":")
    query = status_query or _status_option(option_text, config) or "dle-eot"
    options = {"columns": columns, "qr_module": qr_module}
    if kind == "sim":
        paper = rest or "ok"
        if paper not in ("ok", "low", "out"):
            raise ValueError(f"printer config {config!r}: paper must be ok, low or out")
        return SimulatedPrinter(paper=paper, status_query=query, **options)  # type: ignore[arg-type]
    if kind == "usb":
        from escpos.printer import Usb

        vid, _, pid = rest.partition(":")
        transport = Usb(
            _hex_id(vid, "vendor id", config),
            _hex_id(pid, "product id", config),
            timeout=int(timeout * 1000),  # pyusb counts milliseconds; 0 would wait forever
        )
    elif kind == "serial":
        from escpos.printer import Serial

        device, baud = rest, DEFAULT_BAUD
        head, sep, tail = rest.rpartition(":")
        if sep and tail.isdigit():
            device, baud = head, int(tail)
        if not device:
            raise ValueError(f"printer config {config!r}: no serial device")
        transport = Serial(devfile=device, baudrate=baud, timeout=timeout)
    elif kind == "network":
        from escpos.printer import Network

        host, port = _host_port(rest, config)
        transport = Network(host=host, port=port, timeout=timeout)
    else:
        raise ValueError(f"printer config {config!r}: expected usb:, serial:, network: or sim")
    logger.debug("printer configured: %s", config)
    return EscPosPrinter(transport, name=config, status_query=query, **options)
