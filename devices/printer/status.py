"""Status queries a real ESC/POS printer answers, and what their bits mean.

Real-time ``DLE EOT n`` queries are executed by the printer as soon as they
arrive, even when it is offline (out of paper, cover open); that is why they
are the default. ``GS r n`` is answered in buffer order, after pending
print data, and is kept for printers that only support it.

Every ``DLE EOT`` reply byte has bit 1 and bit 4 set and bits 0 and 7
clear (``byte & 0x93 == 0x12``); a byte that breaks that rule is not a
status reply (an ASB message, line noise) and counts as "no answer".

=================  ========  ============================================
query              bit mask  meaning when set
=================  ========  ============================================
DLE EOT 1 printer  0x08      offline
DLE EOT 2 offline  0x04      cover open
                   0x08      paper being fed by the FEED button
                   0x20      printing stopped: paper end
                   0x40      error (cutter, unrecoverable, auto-recoverable)
DLE EOT 4 paper    0x0C      roll near its end (near-end sensor)
                   0x60      paper out (paper-end sensor)
GS r 1 paper       0x03      roll near its end
                   0x0C      paper out
=================  ========  ============================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .commands import DLE, EOT, GS

PaperLevel = Literal["ok", "low", "out", "unknown"]
#: How the driver reads the sensors: ``DLE EOT`` (default), ``GS r`` for printers
#: that lack it, or "none" for a link that cannot carry replies (write-only).
StatusQuery = Literal["dle-eot", "gs-r", "none"]
STATUS_QUERIES: tuple[StatusQuery, ...] = ("dle-eot", "gs-r", "none")

QUERY_PRINTER = DLE + EOT + b"\x01"
QUERY_OFFLINE = DLE + EOT + b"\x02"
QUERY_ERROR = DLE + EOT + b"\x03"
QUERY_PAPER = DLE + EOT + b"\x04"
QUERY_PAPER_GS_R = GS + b"r\x01"

FIXED_MASK = 0x93
FIXED_BITS = 0x12

OFFLINE = 0x08
COVER_OPEN = 0x04
FEED_BUTTON = 0x08
PAPER_END_STOP = 0x20
ERROR = 0x40
NEAR_END = 0x0C
PAPER_OUT = 0x60
GS_R_NEAR_END = 0x03
GS_R_PAPER_OUT = 0x0C


def is_dle_eot_reply(byte: int) -> bool:
    """True when the byte has the fixed bits of every DLE EOT reply."""
    return byte & FIXED_MASK == FIXED_BITS


def paper_from_dle_eot(reply: bytes) -> PaperLevel:
    """Paper level from the reply to ``DLE EOT 4``."""
    if not reply or not is_dle_eot_reply(reply[0]):
        return "unknown"
    if reply[0] & PAPER_OUT:
        return "out"
    if reply[0] & NEAR_END:
        return "low"
    return "ok"


def paper_from_gs_r(reply: bytes) -> PaperLevel:
    """Paper level from the reply to ``GS r 1`` (bits 4 and 7 are always 0)."""
    if not reply or reply[0] & 0x90:
        return "unknown"
    if reply[0] & GS_R_PAPER_OUT:
        return "out"
    if reply[0] & GS_R_NEAR_END:
        return "low"
    return "ok"


@dataclass(frozen=True)
class PrinterStatus:
    """One reading of the printer's sensors.

    ``online`` is None and ``paper`` is "unknown" when the printer did not
    answer (or was not asked); nothing here ever turns "no reply" into "ok".
    """

    paper: PaperLevel
    online: bool | None = None
    cover_open: bool = False
    error: bool = False

    @property
    def answered(self) -> bool:
        return self.online is not None or self.paper != "unknown"
