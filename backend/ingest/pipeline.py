"""Where a message becomes a row.

``store_batch`` decodes every message of a batch, writes what is valid and
dead-letters what is not, in one transaction, and returns the event ids to
confirm to each kiosk. Duplicates (an event sent again because its ack was
lost) are confirmed again but stored once: the event id is the primary key.

If the database refuses the batch because of one message's content (rather
than being unreachable), the batch is retried one message at a time and the
offending message is dead-lettered, so no input can wedge ingest.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from backend.core.db import insert_ignoring_duplicates
from backend.ingest import gov_events
from backend.models import CommandResultRow, DeadLetter, Event, HealthSnapshot, Kiosk
from backend.models.base import utcnow
from backend.models.dead_letter import MAX_KEPT_BYTES
from backend.services import dead_letters
from mqtt.contract import Channel, ContractError, Message, decode
from mqtt.contract.messages import CommandResult, HealthBody, StatusBody

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Raw:
    topic: str
    payload: bytes


@dataclass
class BatchResult:
    stored_events: int = 0
    duplicate_events: int = 0
    dead_letters: int = 0
    confirmations: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))


class DatabaseUnavailable(RuntimeError):
    """The database could not be reached or locked; the batch must be retried later."""


def _dead_letter_row(raw: Raw, code: str, reason: str, now: datetime) -> dict[str, Any]:
    return {
        "received_at": now,
        "topic": raw.topic[:512],
        "reason_code": code,
        "reason": reason[:1000],
        **dead_letters.protect_ingested_payload(raw.payload[:MAX_KEPT_BYTES]),  # masked + encrypted
        "payload_size": len(raw.payload),
    }


class _Rows:
    """The rows one batch will write, gathered before any SQL runs."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.events: list[dict[str, Any]] = []
        self.health: list[dict[str, Any]] = []
        self.commands: list[dict[str, Any]] = []
        self.dead: list[dict[str, Any]] = []
        self.latest_health: dict[str, Message] = {}
        self.statuses: list[Message] = []
        self.seen: dict[str, datetime] = {}
        self.gov: list[gov_events.GovEvent] = []  # applications and ratings (backend/gov)

    def add(self, raw: Raw) -> None:
        try:
            message = decode(raw.topic, raw.payload)
        except ContractError as err:
            self.dead.append(_dead_letter_row(raw, err.code, err.reason, self.now))
            return
        if not message.channel.from_kiosk:
            self.dead.append(
                _dead_letter_row(
                    raw, "wrong_direction", f"{message.kind} is not sent by kiosks", self.now
                )
            )
            return
        env = message.envelope
        self.seen[env.kiosk] = max(self.seen.get(env.kiosk, env.ts), env.ts)
        common = {"id": str(env.id), "kiosk_id": env.kiosk, "ts": env.ts, "received_at": self.now}
        if message.channel is Channel.EVENTS:
            self.events.append({**common, "seq": env.seq, "kind": env.kind, "body": env.body})
            if env.kind in gov_events.KINDS:
                self.gov.append(
                    gov_events.GovEvent(str(env.id), env.kiosk, env.ts, env.kind, env.body)
                )
        elif message.channel is Channel.HEALTH:
            self.health.append({**common, "body": env.body})
            current = self.latest_health.get(env.kiosk)
            if current is None or current.envelope.ts < env.ts:
                self.latest_health[env.kiosk] = message
        elif message.channel is Channel.STATUS:
            self.statuses.append(message)
        elif message.channel is Channel.COMMANDS_ACK:
            assert isinstance(message.body, CommandResult)
            body = message.body
            self.commands.append(
                {
                    **common,
                    "command_id": str(body.command_id),
                    "outcome": body.outcome,
                    "detail": body.detail,
                    "data": body.data,
                }
            )


def _write(session: Session, rows: _Rows, gov: gov_events.GovIngest | None = None) -> int:
    """All of one batch's SQL; returns how many events were new."""
    if rows.seen:
        insert_ignoring_duplicates(
            session,
            Kiosk.__table__,
            [
                {"id": k, "first_seen_at": ts, "last_seen_at": ts, "online": False}
                for k, ts in rows.seen.items()
            ],
        )
        for kiosk_id, ts in rows.seen.items():
            session.execute(
                update(Kiosk)
                .where(Kiosk.id == kiosk_id, Kiosk.last_seen_at < ts)
                .values(last_seen_at=ts)
            )
    inserted = insert_ignoring_duplicates(session, Event.__table__, rows.events)
    if rows.gov:  # after the events: an application never exists without its event
        gov_events.apply(session, gov or gov_events.default(), rows.gov)
    insert_ignoring_duplicates(session, HealthSnapshot.__table__, rows.health)
    insert_ignoring_duplicates(session, CommandResultRow.__table__, rows.commands)
    if rows.dead:
        session.execute(DeadLetter.__table__.insert(), rows.dead)
    for kiosk_id, message in rows.latest_health.items():
        body = message.body
        assert isinstance(body, HealthBody)
        ts = message.envelope.ts
        session.execute(
            update(Kiosk)
            .where(Kiosk.id == kiosk_id, (Kiosk.health_at.is_(None)) | (Kiosk.health_at < ts))
            .values(
                health=message.envelope.body,
                health_at=ts,
                app_version=body.app_version,
                outbox_depth=body.outbox_depth,
                outbox_oldest_age_s=body.outbox_oldest_age_s,
            )
        )
    for message in rows.statuses:  # in arrival order
        body = message.body
        assert isinstance(body, StatusBody)
        values: dict[str, Any] = {
            "online": body.state == "online",
            "status_connected_at": body.connected_at,
            "status_changed_at": message.envelope.ts,
        }
        if body.app_version:
            values["app_version"] = body.app_version
        session.execute(
            update(Kiosk)
            .where(
                Kiosk.id == message.envelope.kiosk,
                (Kiosk.status_connected_at.is_(None))
                | (Kiosk.status_connected_at <= body.connected_at),
            )
            .values(**values)
        )
    return inserted


_UNAVAILABLE = (OperationalError, InterfaceError, DisconnectionError)


def store_batch(
    sessions: sessionmaker[Session], batch: list[Raw], gov: gov_events.GovIngest | None = None
) -> BatchResult:
    """Store one batch in one transaction; raises DatabaseUnavailable to retry later."""
    rows = _Rows(utcnow())
    for raw in batch:
        rows.add(raw)
    try:
        with sessions.begin() as session:
            inserted = _write(session, rows, gov)
    except _UNAVAILABLE as err:
        raise DatabaseUnavailable(str(err.orig if isinstance(err, DBAPIError) else err)) from err
    except DBAPIError as err:
        if len(batch) == 1:
            return _store_as_dead_letter(sessions, batch[0], err)
        logger.warning(
            "batch of %d refused by the database (%s); storing one by one", len(batch), err.orig
        )
        return _store_one_by_one(sessions, batch, gov)
    result = BatchResult(
        stored_events=inserted,
        duplicate_events=len(rows.events) - inserted,
        dead_letters=len(rows.dead),
    )
    for row in rows.events:
        result.confirmations[row["kiosk_id"]].append(row["id"])
    return result


def _store_one_by_one(
    sessions: sessionmaker[Session], batch: list[Raw], gov: gov_events.GovIngest | None = None
) -> BatchResult:
    total = BatchResult()
    for raw in batch:
        one = store_batch(sessions, [raw], gov)
        total.stored_events += one.stored_events
        total.duplicate_events += one.duplicate_events
        total.dead_letters += one.dead_letters
        for kiosk_id, ids in one.confirmations.items():
            total.confirmations[kiosk_id].extend(ids)
    return total


def _store_as_dead_letter(
    sessions: sessionmaker[Session], raw: Raw, err: DBAPIError
) -> BatchResult:
    reason = f"database refused the message: {str(err.orig)[:300]}"
    logger.warning("dead-lettering a message on %s: %s", raw.topic, reason)
    payload = raw.payload.replace(b"\x00", b"")  # the payload itself may be what was refused
    row = _dead_letter_row(Raw(raw.topic, payload), "db_refused", reason, utcnow())
    row["payload_size"] = len(raw.payload)
    try:
        with sessions.begin() as session:
            session.execute(DeadLetter.__table__.insert(), [row])
    except _UNAVAILABLE as unavailable:
        raise DatabaseUnavailable(str(unavailable)) from unavailable
    return BatchResult(dead_letters=1)
