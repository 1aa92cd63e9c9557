"""Receipt numbers made on the kiosk at once, offline too, never given twice.

A number is ``<KIOSK-ID>-<yyyymmdd>-<seq>``: the kiosk id makes it unique
across the fleet (ids are unique, enrolment sees to it), the date and a
per-day sequence kept in the kiosk's SQLite file make it unique across
restarts. The sequence is taken in its own committed transaction before the
application is journalled: a crash between the two leaves a gap, never a
duplicate. The format is the contract's (``mqtt/contract/receipts.py``): ingest refuses
a number that is not the sending kiosk's.
"""

from __future__ import annotations

from datetime import datetime

import sqlite_utils

from mqtt.contract.receipts import receipt_number

SCHEMA = """
CREATE TABLE IF NOT EXISTS receipt_sequence (
    day TEXT PRIMARY KEY,
    last INTEGER NOT NULL
);
"""


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
        return receipt_number(self.kiosk_id, now, last)
