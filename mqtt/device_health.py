"""Device states as the kiosk last saw them, kept in the kiosk's SQLite file.

The kiosk UI's device supervisors write here (one row per device); the agent,
a separate process, reads the table into each health snapshot. Sharing the
file keeps the two processes decoupled: either may restart without the other.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import sqlite_utils

from mqtt.contract.messages import DeviceHealth, DeviceState

SCHEMA = """
CREATE TABLE IF NOT EXISTS device_health (
    name TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    detail TEXT,
    paper TEXT,
    updated REAL NOT NULL
);
"""

PAPER_LEVELS = ("ok", "low", "out", "unknown")


class DeviceHealthStore:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        db.conn.executescript(SCHEMA)

    def set(
        self, name: str, state: DeviceState, detail: str | None = None, *, paper: str | None = None
    ) -> None:
        if paper is not None and paper not in PAPER_LEVELS:
            raise ValueError(f"paper level must be one of {PAPER_LEVELS}, not {paper!r}")
        DeviceHealth(state=state, detail=detail)  # validates the state
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO device_health (name, state, detail, paper, updated) VALUES (?,?,?,?,?) "
                "ON CONFLICT(name) DO UPDATE SET state=excluded.state, detail=excluded.detail, "
                "paper=coalesce(excluded.paper, device_health.paper), updated=excluded.updated",
                (name, state, detail, paper, time.time()),
            )

    def all(self) -> dict[str, DeviceHealth]:
        rows = self.db.execute(
            "SELECT name, state, detail, updated FROM device_health ORDER BY name"
        )
        return {
            name: DeviceHealth(
                state=state, detail=detail, updated_at=datetime.fromtimestamp(updated, UTC)
            )
            for name, state, detail, updated in rows
        }

    def paper(self) -> str:
        row = self.db.execute(
            "SELECT paper FROM device_health WHERE paper IS NOT NULL ORDER BY updated DESC LIMIT 1"
        ).fetchone()
        return row[0] if row else "unknown"
