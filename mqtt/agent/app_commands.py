"""The local queue through which the agent hands commands to the kiosk app (and hears back).

Some commands only the kiosk app can carry out: lock and unlock (the
maintenance screen), print a test page (the app owns the printer), sync the
catalog, restart itself. The agent ``put``s them here, in the kiosk's SQLite
file (WAL; the app and the agent are separate processes); the app polls
``next_pending``, does the work and calls ``complete``; the agent reports
every finished command to the backend once (``unreported`` / ``mark_reported``).

A command carries its expiry. ``next_pending`` never hands out an expired one:
it marks it expired and skips it, so a stale "unlock" or "print" that waited
for hours (the app was down) never runs. ``expire_overdue`` lets the agent
close commands the app never picked up, and fail those it took but never
finished within a timeout.

States: pending -> taken -> done | failed; pending -> expired; taken -> failed (timeout).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from mqtt.outbox import open_kiosk_db

SCHEMA = """
CREATE TABLE IF NOT EXISTS app_commands (
    command_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    args TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    state TEXT NOT NULL,
    detail TEXT,
    data TEXT,
    received REAL NOT NULL,
    taken REAL,
    completed REAL,
    reported INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS ix_app_commands_state ON app_commands (state, received);
"""
FINAL = ("done", "failed", "expired")
OUTCOMES = ("done", "failed")


@dataclass(frozen=True)
class AppCommand:
    command_id: str
    name: str
    args: dict[str, Any]
    expires_at: datetime
    state: str
    detail: str | None
    data: dict[str, Any] | None


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _row(row: tuple) -> AppCommand:
    command_id, name, args, expires_at, state, detail, data = row
    return AppCommand(
        command_id=command_id,
        name=name,
        args=json.loads(args),
        expires_at=datetime.strptime(expires_at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC),
        state=state,
        detail=detail,
        data=json.loads(data) if data else None,
    )


_COLUMNS = "command_id, name, args, expires_at, state, detail, data"


class AppCommandQueue:
    def __init__(self, db_path: Path | str | sqlite_utils.Database) -> None:
        self.db = db_path if isinstance(db_path, sqlite_utils.Database) else open_kiosk_db(db_path)
        self.db.conn.executescript(SCHEMA)

    def put(self, command_id: str, name: str, args: dict[str, Any], expires_at: datetime) -> bool:
        """Queue a command; False if this id is already queued (a redelivery: run it once)."""
        with self.db.atomic():
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO app_commands (command_id, name, args, expires_at, state, received)"
                " VALUES (?, ?, ?, ?, 'pending', ?)",
                (
                    str(command_id),
                    name,
                    json.dumps(args, ensure_ascii=False),
                    _iso(expires_at),
                    time.time(),
                ),
            )
            return cursor.rowcount == 1

    def next_pending(self, now: datetime | None = None) -> AppCommand | None:
        """The oldest live command, now taken by the caller; expired ones are marked and skipped."""
        now_iso = _iso(now or datetime.now(UTC))
        with self.db.atomic():
            self.db.execute(
                "UPDATE app_commands SET state = 'expired', detail = 'expired before the app took it',"
                " completed = ? WHERE state = 'pending' AND expires_at <= ?",
                (time.time(), now_iso),
            )
            row = self.db.execute(
                f"SELECT {_COLUMNS} FROM app_commands WHERE state = 'pending' ORDER BY received LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            self.db.execute(
                "UPDATE app_commands SET state = 'taken', taken = ? WHERE command_id = ?",
                (time.time(), row[0]),
            )
        return _row((*row[:4], "taken", *row[5:]))

    def complete(
        self,
        command_id: str,
        outcome: str,
        detail: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        """The app finished a command: done or failed, with what to tell ops."""
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}, not {outcome!r}")
        with self.db.atomic():
            cursor = self.db.execute(
                "UPDATE app_commands SET state = ?, detail = ?, data = ?, completed = ?"
                " WHERE command_id = ? AND state IN ('pending', 'taken')",
                (
                    outcome,
                    detail[:500] if detail else None,
                    json.dumps(data, ensure_ascii=False) if data else None,
                    time.time(),
                    str(command_id),
                ),
            )
            if cursor.rowcount != 1:
                raise LookupError(f"no open command {command_id!r} (unknown, or already finished)")

    def get(self, command_id: str) -> AppCommand | None:
        row = self.db.execute(
            f"SELECT {_COLUMNS} FROM app_commands WHERE command_id = ?",
            (str(command_id),),
        ).fetchone()
        return _row(row) if row else None

    # the agent's side -----------------------------------------------------------------------
    def expire_overdue(self, now: datetime | None = None, *, taken_timeout_s: float) -> int:
        """Close what will never finish: pending past expiry, taken for longer than the timeout."""
        now_iso = _iso(now or datetime.now(UTC))
        with self.db.atomic():
            expired = self.db.execute(
                "UPDATE app_commands SET state = 'expired', detail = 'the app did not take it before it expired',"
                " completed = ? WHERE state = 'pending' AND expires_at <= ?",
                (time.time(), now_iso),
            ).rowcount
            failed = self.db.execute(
                "UPDATE app_commands SET state = 'failed', detail = ?, completed = ?"
                " WHERE state = 'taken' AND taken <= ?",
                (
                    f"the app took it but did not finish within {taken_timeout_s:.0f} s",
                    time.time(),
                    time.time() - taken_timeout_s,
                ),
            ).rowcount
        return expired + failed

    def unreported(self, limit: int = 100) -> list[AppCommand]:
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM app_commands WHERE reported = 0 AND state IN ('done', 'failed', 'expired')"
            " ORDER BY completed LIMIT ?",
            (limit,),
        ).fetchall()
        return [_row(r) for r in rows]

    def mark_reported(self, command_ids: list[str]) -> None:
        with self.db.atomic():
            self.db.conn.executemany(
                "UPDATE app_commands SET reported = 1 WHERE command_id = ?",
                [(i,) for i in command_ids],
            )

    def prune(self, older_than_s: float = 7 * 86400) -> int:
        with self.db.atomic():
            return self.db.execute(
                "DELETE FROM app_commands WHERE reported = 1 AND completed < ?",
                (time.time() - older_than_s,),
            ).rowcount
