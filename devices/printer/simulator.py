"""The simulated printer that ships with the kiosk (``--sim``, demos, training).

Like python-escpos's ``Dummy`` it keeps every byte it is sent, but it also
answers status queries from a ``VirtualPrinter``, so the real driver code
(status check, refusal on paper out, health) runs unchanged. A trainer can
run it out of paper or unplug it to show the kiosk's fallbacks.
"""

from __future__ import annotations

from escpos.escpos import Escpos
from escpos.exceptions import DeviceNotFoundError

from .driver import EscPosPrinter
from .status import PaperLevel, StatusQuery
from .stream import PrintedJob, decode
from .virtual import VirtualPrinter


class SimulatedTransport(Escpos):
    """A python-escpos transport whose far end is a ``VirtualPrinter`` in this process."""

    def __init__(self, virtual: VirtualPrinter) -> None:
        Escpos.__init__(self)
        self.virtual = virtual
        self.plugged_in = True
        self._replies = bytearray()

    def open(self) -> None:
        if not self.plugged_in:
            raise DeviceNotFoundError("simulated printer unplugged")
        self._replies.clear()
        self.device = self.virtual

    def _raw(self, msg: bytes) -> None:
        if not self.plugged_in:
            raise DeviceNotFoundError("simulated printer unplugged")
        self._replies += self.virtual.receive(msg)

    def _read(self) -> bytes:
        reply = bytes(self._replies[:16])
        del self._replies[:16]
        return reply

    def close(self) -> None:
        self._replies.clear()
        self._device = False


class SimulatedPrinter(EscPosPrinter):
    """``EscPosPrinter`` over a ``SimulatedTransport``, with the knobs a trainer needs."""

    def __init__(
        self,
        *,
        paper: PaperLevel = "ok",
        columns: int = 32,
        qr_module: int = 6,
        status_query: StatusQuery = "dle-eot",
    ) -> None:
        self.virtual = VirtualPrinter(paper=paper, columns=columns)
        self.transport = SimulatedTransport(self.virtual)
        super().__init__(
            self.transport,
            name="sim",
            columns=columns,
            qr_module=qr_module,
            status_query=status_query,
        )

    @property
    def output(self) -> bytes:
        """Every job byte printed so far (status queries left out)."""
        return self.virtual.printed

    def set_paper(self, level: PaperLevel) -> None:
        """Load paper ("ok"), bring the roll to its near-end mark ("low") or empty it ("out")."""
        self.virtual.paper = level

    def unplug(self) -> None:
        self.transport.plugged_in = False

    def plug_in(self) -> None:
        self.transport.plugged_in = True

    def as_text(self) -> str:
        """The printed paper as readable text (GB18030 runs decoded)."""
        return self.virtual.as_text()

    def decoded(self) -> PrintedJob:
        """Everything printed so far, decoded: text lines, QR payloads, cuts."""
        return decode(self.output)

    def clear(self) -> None:
        self.virtual.clear()
