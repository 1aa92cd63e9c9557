"""A printer in software: paper sensors, status replies, the bytes it was sent.

One model shared by the in-process simulator (``--sim``) and the TCP
emulator, so both answer status queries the way a real printer does, from
the same bits (see ``status``), and both keep what they were sent.
"""

from __future__ import annotations

import threading

from . import status
from .status import PaperLevel
from .stream import Op, as_text, parse

_GS_R_PAPER_ARGS = (1, 49)


class VirtualPrinter:
    """Answers ``DLE EOT 1-4`` and ``GS r 1``; records every other byte it receives.

    ``printed`` is what reached the print buffer (status queries left out), so
    it compares equal across transports. Data sent while the paper is out is
    still recorded: a test must see it if a driver ignores the sensor.
    Thread-safe: the emulator feeds it from connection threads while a test
    changes the paper.
    """

    def __init__(self, *, paper: PaperLevel = "ok", columns: int = 32) -> None:
        if paper == "unknown":
            raise ValueError("a virtual printer always knows its paper level")
        self.columns = columns
        self.answer_status = True
        self._paper: PaperLevel = paper
        self._cover_open = False
        self._printed = bytearray()
        self._pending = b""
        self._queries: list[bytes] = []
        self._lock = threading.Lock()

    # --- what a technician or a test can change -------------------------------------------
    @property
    def paper(self) -> PaperLevel:
        return self._paper

    @paper.setter
    def paper(self, level: PaperLevel) -> None:
        if level not in ("ok", "low", "out"):
            raise ValueError(f"paper level must be ok, low or out, not {level!r}")
        with self._lock:
            self._paper = level

    @property
    def cover_open(self) -> bool:
        return self._cover_open

    @cover_open.setter
    def cover_open(self, value: bool) -> None:
        with self._lock:
            self._cover_open = value

    # --- the wire -------------------------------------------------------------------------
    def receive(self, data: bytes) -> bytes:
        """Take bytes from the host; return the status replies they asked for."""
        with self._lock:
            ops, used = parse(self._pending + data)
            self._pending = (self._pending + data)[used:]
            replies = bytearray()
            for op in ops:
                if op.kind == "query":
                    self._queries.append(op.raw)
                    if self.answer_status:
                        replies += self._reply(op)
                else:
                    self._printed += op.raw
            return bytes(replies)

    def _reply(self, op: Op) -> bytes:
        offline = self._paper == "out" or self._cover_open
        if op.raw[:2] == status.QUERY_PAPER_GS_R[:2]:  # GS r n
            if op.value not in _GS_R_PAPER_ARGS:
                return b"\x00"  # drawer or ink status: nothing to report
            bits = {"ok": 0, "low": status.GS_R_NEAR_END}.get(
                self._paper, status.GS_R_NEAR_END | status.GS_R_PAPER_OUT
            )
            return bytes([bits])
        byte = status.FIXED_BITS
        if op.value == 1 and offline:
            byte |= status.OFFLINE
        elif op.value == 2:
            if self._cover_open:
                byte |= status.COVER_OPEN
            if self._paper == "out":
                byte |= status.PAPER_END_STOP
        elif op.value == 4:
            if self._paper == "low":
                byte |= status.NEAR_END
            elif self._paper == "out":  # an empty roll trips both sensors
                byte |= status.NEAR_END | status.PAPER_OUT
        return bytes([byte])

    # --- what came out --------------------------------------------------------------------
    @property
    def printed(self) -> bytes:
        with self._lock:
            return bytes(self._printed)

    @property
    def queries(self) -> list[bytes]:
        with self._lock:
            return list(self._queries)

    def as_text(self) -> str:
        """The paper so far, readable (see ``stream.as_text``)."""
        return as_text(self.printed, columns=self.columns)

    def clear(self) -> None:
        """Tear off the paper: forget what was printed and queried."""
        with self._lock:
            self._printed.clear()
            self._queries.clear()
            self._pending = b""
