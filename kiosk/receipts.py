"""Receipt numbers made on the kiosk at once, offline too, never given twice.

A number is ``<KIOSK-ID>-<yyyymmdd>-<seq>``: the kiosk id makes it unique
across the fleet (ids are unique, enrolment sees to it), the date and a
per-day sequence kept in the kiosk's SQLite file make it unique across
restarts. The sequence is taken in its own committed transaction before the
application is journalled: a crash between the two leaves a gap, never a
duplicate. The format is that of ``kiosk.simulate.receipt_number``.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import sqlite_utils

from kiosk.simulate import receipt_number

SCHEMA = """
CREATE TABLE IF NOT EXISTS receipt_sequence (
    day TEXT PRIMARY KEY,
    last INTEGER NOT NULL
);
"""

MAX_LENGTH = 64  # the contract's Code
LONG_ID_PREFIX = "K"


def kiosk_part(kiosk_id: str) -> str:
    """The kiosk id as it appears in a number; ids too long to fit are replaced by a
    stable 12-hex digest (still unique in practice, and the id travels in the envelope)."""
    if len(kiosk_id) + len("-yyyymmdd-") + 6 <= MAX_LENGTH:
        return kiosk_id
    return LONG_ID_PREFIX + hashlib.sha256(kiosk_id.encode()).hexdigest()[:12]


class ReceiptNumbers:
    def __init__(self, db: sqlite_utils.Database, kiosk_id: str) -> None:
        self.db = db
        self.kiosk_id = kiosk_id
        db.conn.executescript(SCHEMA)

    def next(self, now: datetime) -> str:
        """The next number of ``now``'s day, committed before it is returned."""
        day = f"{now:%Y%m%d}"
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO receipt_sequence (day, last) VALUES (?, 1) "
                "ON CONFLICT(day) DO UPDATE SET last = last + 1",
                (day,),
            )
            (last,) = self.db.execute(
                "SELECT last FROM receipt_sequence WHERE day = ?", (day,)
            ).fetchone()
        return receipt_number(kiosk_part(self.kiosk_id), now, last)
