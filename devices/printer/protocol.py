"""What the kiosk may ask of a receipt printer, and nothing more."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from devices.health import DeviceHealth

from .documents import Document
from .status import PaperLevel


@runtime_checkable
class Printer(Protocol):
    """A receipt printer as the kiosk UI sees it.

    Errors come only from ``devices.errors``: ``PaperOut`` (offer the receipt
    by SMS instead), ``PrinterError`` and ``DeviceUnavailable``.
    """

    def print_document(self, document: Document) -> None:
        """Print the whole document, or raise having printed nothing."""
        ...

    def paper(self) -> PaperLevel:
        """Read the paper sensors now."""
        ...

    def health(self) -> DeviceHealth:
        """State and paper level; quick, never raises (``devices.health.HealthProbe``)."""
        ...
