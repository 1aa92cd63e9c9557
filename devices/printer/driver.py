"""The ESC/POS printer driver: status first, then the job, over any transport.

The transport is a python-escpos printer object (``Usb``, ``Serial``,
``Network``, or the ``SimulatedTransport``); the driver only uses its
``open``/``close`` and its raw write and read. Each job and each health check
opens the connection and closes it again: network printers on port 9100
drop idle connections and often accept only one at a time, and a USB
printer can be unplugged between two citizens.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from devices.errors import DeviceError, DeviceUnavailable, PaperOut, PrinterError
from devices.health import DeviceHealth

from . import status
from ._vendor import NO_REPLY, converted
from .documents import Document
from .render import render
from .status import PaperLevel, PrinterStatus, StatusQuery

logger = logging.getLogger(__name__)


class Transport(Protocol):
    """The part of ``escpos.Escpos`` the driver needs."""

    def open(self) -> None: ...
    def close(self) -> None: ...
    def _raw(self, msg: bytes) -> None: ...
    def _read(self) -> bytes: ...


class EscPosPrinter:
    """A receipt printer reached through a python-escpos transport.

    Implements ``devices.printer.Printer``. Thread-safe: the UI prints while
    the device supervisor polls ``health()``.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        name: str,
        columns: int = 32,
        qr_module: int = 6,
        status_query: StatusQuery = "dle-eot",
    ) -> None:
        if status_query not in status.STATUS_QUERIES:
            raise ValueError(f"status_query must be one of {status.STATUS_QUERIES}")
        self.name = name
        self.columns = columns
        self.qr_module = qr_module
        self.status_query = status_query
        self._transport = transport
        self._lock = threading.Lock()
        self._reachable: bool | None = None

    # --- Printer protocol -----------------------------------------------------------------
    def print_document(self, document: Document) -> None:
        """Print one document, or raise without printing anything.

        Raises ``PaperOut`` when the paper sensor says so (the kiosk then
        offers the receipt by SMS), ``PrinterError`` when the printer is
        offline for another reason (cover open, cutter error), and
        ``DeviceUnavailable`` when it cannot be reached. When the paper
        level cannot be read (no reply), it raises ``PrinterError`` with key
        ``printer.status_unknown`` instead of printing blind; only a printer
        configured with ``status_query="none"`` prints without a check.
        """
        job = render(document, columns=self.columns, qr_module=self.qr_module)
        with self._lock, self._session():
            reading = self._read_status()
            self._refuse_unless_ready(reading)
            with converted(self.name, "write"):
                self._transport._raw(job)
        logger.info("printed %r on %s (%d bytes)", document.title, self.name, len(job))

    def paper(self) -> PaperLevel:
        """The paper level now, read from the sensors; raises like ``status``."""
        return self.status().paper

    def status(self) -> PrinterStatus:
        """Ask the printer for its sensors now; raises ``DeviceUnavailable`` if unreachable."""
        with self._lock, self._session():
            return self._read_status()

    def health(self) -> DeviceHealth:
        """State and paper level for the health snapshot; never raises."""
        try:
            reading = self.status()
        except DeviceUnavailable as err:
            return DeviceHealth("absent", str(err), paper="unknown")
        except DeviceError as err:
            return DeviceHealth("fault", str(err), paper="unknown")
        except Exception as err:  # a health probe must never take the agent down
            logger.exception("printer %s: health check failed", self.name)
            return DeviceHealth("unknown", f"health check failed: {err}", paper="unknown")
        if self.status_query == "none":
            return DeviceHealth("unknown", "status queries disabled (status=none)", paper="unknown")
        return _health_of(reading)

    # --- internals ------------------------------------------------------------------------
    @contextmanager
    def _session(self) -> Iterator[None]:
        """Open the transport for one exchange and always close it again."""
        try:
            with converted(self.name, "open"):
                self._transport.open()
        except DeviceUnavailable as err:
            self._note_reachable(False, err)
            raise
        self._note_reachable(True)
        try:
            yield
        except DeviceUnavailable as err:
            self._note_reachable(False, err)
            raise
        finally:
            try:
                self._transport.close()
            except Exception as err:  # closing a dead link must not hide the real error
                logger.debug("printer %s: close failed: %s", self.name, err)

    def _note_reachable(self, reachable: bool, err: Exception | None = None) -> None:
        """Log once when the printer is lost and once when it is back."""
        if reachable == self._reachable:
            return
        if reachable and self._reachable is False:
            logger.info("printer %s: reachable again", self.name)
        elif not reachable:
            logger.warning("printer %s: unreachable: %s", self.name, err)
        self._reachable = reachable

    def _query(self, query: bytes) -> bytes:
        """Send one status query and read its reply; empty when the printer stays silent."""
        with converted(self.name, "status query"):
            self._transport._raw(query)
            try:
                return bytes(self._transport._read())
            except NotImplementedError:  # a write-only transport
                return b""
            except NO_REPLY:
                return b""

    def _read_status(self) -> PrinterStatus:
        if self.status_query == "none":
            return PrinterStatus(paper="unknown")
        if self.status_query == "gs-r":
            return PrinterStatus(paper=status.paper_from_gs_r(self._query(status.QUERY_PAPER_GS_R)))
        printer = self._query(status.QUERY_PRINTER)
        if not printer or not status.is_dle_eot_reply(printer[0]):
            logger.debug("printer %s: no status reply (%r)", self.name, printer)
            return PrinterStatus(paper="unknown")
        online = not printer[0] & status.OFFLINE
        paper = status.paper_from_dle_eot(self._query(status.QUERY_PAPER))
        cover_open = error = False
        if not online:
            cause = self._query(status.QUERY_OFFLINE)
            if cause and status.is_dle_eot_reply(cause[0]):
                cover_open = bool(cause[0] & status.COVER_OPEN)
                error = bool(cause[0] & status.ERROR)
        return PrinterStatus(paper=paper, online=online, cover_open=cover_open, error=error)

    def _refuse_unless_ready(self, reading: PrinterStatus) -> None:
        if reading.paper == "out":
            raise PaperOut(f"printer {self.name}: paper out")
        if reading.cover_open:
            raise PrinterError(f"printer {self.name}: cover open", key="printer.cover_open")
        if reading.error:
            raise PrinterError(f"printer {self.name}: printer error", key="printer.fault")
        if reading.online is False:
            raise PrinterError(f"printer {self.name}: offline", key="printer.offline")
        if reading.paper == "unknown":
            if self.status_query != "none":
                raise PrinterError(
                    f"printer {self.name}: no reply to the paper status query, not printing blind",
                    key="printer.status_unknown",
                )
            logger.info("printer %s: status_query=none, printing without a paper check", self.name)
        if reading.paper == "low":
            logger.warning("printer %s: paper near end", self.name)


def _health_of(reading: PrinterStatus) -> DeviceHealth:
    """Map one sensor reading onto the agent's health vocabulary.

    A paper level that was not read is "unknown", even when the printer said
    it was online: only a reply that says so makes the paper "ok".
    """
    if not reading.answered:
        return DeviceHealth("unknown", "no status reply", paper="unknown")
    if reading.paper == "out":
        return DeviceHealth("fault", "paper out", paper="out")
    if reading.cover_open:
        return DeviceHealth("fault", "cover open", paper=reading.paper)
    if reading.error or reading.online is False:
        return DeviceHealth("fault", "printer offline or in error", paper=reading.paper)
    if reading.paper == "unknown":
        return DeviceHealth("unknown", "no reply to the paper status query", paper="unknown")
    if reading.paper == "low":
        return DeviceHealth("degraded", "paper near end", paper="low")
    return DeviceHealth("ok", paper=reading.paper)
