"""The kiosk's own record of what it did, kept locally (offline too).

Each finished action is one journal row and one outbox event, written in the
same SQLite transaction (``Journal.record``): the kiosk never remembers an
action the backend will not hear of, nor reports one it did not record.
"""

from __future__ import annotations

import time
from typing import Any

import sqlite_utils

from mqtt.outbox import Outbox, OutboxEvent

SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    event_id TEXT NOT NULL,
    summary TEXT NOT NULL
);
"""


class Journal:
    def __init__(self, db: sqlite_utils.Database, outbox: Outbox) -> None:
        self.db = db
        self.outbox = outbox
        db.conn.executescript(SCHEMA)

    def record(self, kind: str, body: dict[str, Any], summary: str) -> OutboxEvent:
        """Journal the action and queue its event, atomically."""
        with self.db.atomic():
            event = self.outbox.put(kind, body)
            self.db.execute(
                "INSERT INTO journal (at, kind, event_id, summary) VALUES (?, ?, ?, ?)",
                (time.time(), kind, event.id, summary),
            )
        return event

    def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT at, kind, event_id, summary FROM journal ORDER BY id DESC LIMIT ?", (limit,)
        )
        return [dict(zip(("at", "kind", "event_id", "summary"), r, strict=True)) for r in rows]
