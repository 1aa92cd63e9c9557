"""The kiosk's outbox: events wait here, durably, until the backend has stored them.

One SQLite file on the kiosk (WAL, ``synchronous=FULL``), written with
sqlite-utils. ``put`` returns only after the event is committed, so an event
survives a crash or power loss the moment ``put`` returns. An event leaves the
outbox only through ``ack``, which the agent calls when ingest reports the id
as stored: a broker's PUBACK is not enough (see ``mqtt.agent``).

Contract: ``put`` -> ``next_batch`` (oldest first, by ``seq``) -> ``ack``.
``put`` inside the caller's ``db.atomic()`` joins that transaction, so an
action and its event are written together or not at all.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlite_utils
from pydantic import BaseModel, ValidationError

from mqtt.contract.envelope import MAX_MESSAGE_BYTES, utc_now
from mqtt.contract.errors import ContractError
from mqtt.contract.messages import KINDS
from mqtt.contract.topics import Channel

# Room left in a message for the envelope around the body (id, kiosk, ts, kind, seq).
ENVELOPE_OVERHEAD = 256

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    ts TEXT NOT NULL,
    body TEXT NOT NULL,
    created REAL NOT NULL
);
"""


def open_kiosk_db(path: Path | str) -> sqlite_utils.Database:
    """Open (creating if need be) the kiosk's SQLite file with the outbox's durability."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite_utils.Database(path)
    db.execute("PRAGMA busy_timeout = 10000")
    db.enable_wal()
    db.execute("PRAGMA synchronous = FULL")
    return db


@dataclass(frozen=True)
class OutboxEvent:
    seq: int
    id: str
    kind: str
    ts: str
    body: str  # the body as JSON text, validated at put

    def payload(self, kiosk_id: str) -> bytes:
        """The wire form: the contract's envelope, assembled without re-validating."""
        return (
            f'{{"v":1,"id":"{self.id}","kiosk":"{kiosk_id}","ts":"{self.ts}",'
            f'"kind":"{self.kind}","seq":{self.seq},"body":{self.body}}}'
        ).encode()


@dataclass(frozen=True)
class OutboxStats:
    depth: int
    oldest_age_s: float | None


def _rfc3339(ts: datetime) -> str:
    return ts.isoformat(timespec="microseconds").replace("+00:00", "Z")


class Outbox:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        db.conn.executescript(SCHEMA)

    @classmethod
    def open(cls, path: Path | str) -> Outbox:
        return cls(open_kiosk_db(path))

    def put(
        self,
        kind: str,
        body: BaseModel | dict[str, Any],
        *,
        id: uuid.UUID | None = None,
        ts: datetime | None = None,
    ) -> OutboxEvent:
        """Validate and store one event; durable when this returns.

        Raises ContractError for an unknown kind, a kind that is not an event,
        a body its model refuses, or a body too large for one message.
        """
        spec = KINDS.get(kind)
        if spec is None or spec.channel is not Channel.EVENTS:
            raise ContractError("unknown_kind", f"{kind!r} is not an event kind")
        try:
            model = body if isinstance(body, spec.model) else spec.model.model_validate(body)
        except ValidationError as err:
            raise ContractError("bad_body", f"{kind} body: {err.errors()[0]['msg']}") from None
        body_json = json.dumps(
            model.model_dump(mode="json", exclude_none=True),
            ensure_ascii=False,
            separators=(",", ":"),
        )
        if len(body_json.encode()) + ENVELOPE_OVERHEAD > MAX_MESSAGE_BYTES:
            raise ContractError("too_large", f"{kind} body of {len(body_json)} bytes is too large")
        event_id = str(id or uuid.uuid4())
        ts_text = _rfc3339(ts or utc_now())
        with self.db.atomic():
            cursor = self.db.execute(
                "INSERT INTO outbox (id, kind, ts, body, created) VALUES (?, ?, ?, ?, ?)",
                (event_id, kind, ts_text, body_json, time.time()),
            )
        return OutboxEvent(seq=cursor.lastrowid, id=event_id, kind=kind, ts=ts_text, body=body_json)

    def next_batch(self, limit: int, after_seq: int = 0) -> list[OutboxEvent]:
        """Up to ``limit`` events with seq > ``after_seq``, oldest first."""
        rows = self.db.execute(
            "SELECT seq, id, kind, ts, body FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
            (after_seq, limit),
        ).fetchall()
        return [OutboxEvent(*row) for row in rows]

    def get(self, seqs: list[int]) -> list[OutboxEvent]:
        """The events among ``seqs`` still in the outbox, oldest first."""
        out: list[OutboxEvent] = []
        for i in range(0, len(seqs), 500):
            chunk = seqs[i : i + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                f"SELECT seq, id, kind, ts, body FROM outbox WHERE seq IN ({marks})", chunk
            ).fetchall()
            out.extend(OutboxEvent(*row) for row in rows)
        return sorted(out, key=lambda e: e.seq)

    def ack(self, ids: list[str]) -> int:
        """Remove the events the backend has stored; returns how many were still here."""
        removed = 0
        with self.db.atomic():
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                marks = ",".join("?" * len(chunk))
                cursor = self.db.execute(f"DELETE FROM outbox WHERE id IN ({marks})", chunk)
                removed += cursor.rowcount
        return removed

    def stats(self, now: float | None = None) -> OutboxStats:
        depth, oldest = self.db.execute("SELECT count(*), min(created) FROM outbox").fetchone()
        age = None if oldest is None else max(0.0, (now or time.time()) - oldest)
        return OutboxStats(depth=depth, oldest_age_s=age)

    def ids(self) -> list[str]:
        """Every id waiting, oldest first (for tests and diagnostics)."""
        return [row[0] for row in self.db.execute("SELECT id FROM outbox ORDER BY seq")]
