"""Where a message becomes a row.

``store_batch`` decodes every message of a batch, writes what is valid and
dead-letters what is not, in one transaction, and returns the event ids to
confirm to each kiosk. Duplicates (an event sent again because its ack was
lost) are confirmed again but stored once: the event id is the primary key.

If the database refuses the batch because of one message's content (rather
than being unreachable), the batch is retried one message at a time and the
offending message is dead-lettered, so no input can wedge ingest.

What a sender claims is not taken on its word:

- an event id already stored with other content, or from another kiosk, is a
  conflict: the new message becomes a dead letter with the reason, it does not
  vanish as a "duplicate" (the id is the kiosk's, and only the kiosk's);
- a timestamp further ahead of the backend's clock than
  ``FLEET_MAX_CLOCK_SKEW_S`` is replaced by the time of receipt (a kiosk's
  state is ordered by its own clock only within that bound), and the skew is
  kept with the kiosk's health for the clock alert; ``last_seen_at`` is the
  backend's time of receipt;
- with enrolment on, a kiosk id that is not enrolled creates no kiosk row and
  no alert: its messages are dead letters (``not_enrolled``);
- a retained message ingest already handled is not handled again when the
  broker hands it over on every new subscription.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from backend.core.db import insert_ignoring_duplicates, insert_new
from backend.core.privacy import mask_personal_data
from backend.ingest import gov_events
from backend.models import (
    CommandResultRow,
    DeadLetter,
    Enrolment,
    Event,
    HealthSnapshot,
    Kiosk,
    RetainedSeen,
)
from backend.models.base import utcnow
from backend.models.dead_letter import MAX_KEPT_BYTES
from backend.services import dead_letters
from mqtt.contract import Channel, ContractError, Message, decode, topic
from mqtt.contract.messages import CommandResult, HealthBody, StatusBody

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Raw:
    topic: str
    payload: bytes
    retained: bool = False  # delivered from the broker's retained store (a new subscription)

    def digest(self) -> str:
        return hashlib.sha256(
            len(self.topic).to_bytes(4, "big") + self.topic.encode() + self.payload
        ).hexdigest()


@dataclass(frozen=True)
class Policy:
    """What ingest checks senders against, from Settings (defaults suit tests and the demo)."""

    max_clock_skew: timedelta = timedelta(seconds=300)
    require_enrolment: str = "auto"  # auto | true | false

    @classmethod
    def from_settings(cls, settings: Any) -> Policy:
        return cls(
            max_clock_skew=timedelta(seconds=settings.max_clock_skew_s),
            require_enrolment=settings.require_enrolment,
        )


@dataclass
class BatchResult:
    stored_events: int = 0
    duplicate_events: int = 0
    dead_letters: int = 0
    retained_skipped: int = 0
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
    """The rows one batch will write, gathered before they are written."""

    def __init__(self, now: datetime, policy: Policy, admitted: Admission) -> None:
        self.now = now
        self.policy = policy
        self.admitted = admitted  # kiosk id -> None, or why its messages are refused
        self.skew: dict[str, float] = {}  # kiosk -> its clock minus ours, from health/status
        self.events: list[dict[str, Any]] = []
        self.health: list[dict[str, Any]] = []
        self.commands: list[dict[str, Any]] = []
        self.dead: list[dict[str, Any]] = []
        self.latest_health: dict[str, tuple[datetime, Message]] = {}
        self.statuses: list[Message] = []
        self.seen: dict[str, datetime] = {}
        self.gov: list[gov_events.GovEvent] = []  # applications and ratings (backend/gov)
        self.conflicts: set[str] = set()
        self.repeats: list[dict[str, Any]] = []  # the same event twice in one batch (a resend)
        self.dead_digests: list[Raw] = []  # refused retained-able messages: handled once

    def add(self, raw: Raw) -> None:
        dead_before = len(self.dead)
        self._add(raw)
        if len(self.dead) > dead_before:
            self.dead_digests.append(raw)

    def _add(self, raw: Raw) -> None:
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
        refusal = self.admitted(env.kiosk)
        if refusal is not None:
            self.dead.append(_dead_letter_row(raw, *refusal, self.now))
            return
        self.seen[env.kiosk] = self.now  # the backend's clock, not the sender's
        ts = self.bounded(env.ts)
        if message.channel in (Channel.HEALTH, Channel.STATUS):
            self.skew[env.kiosk] = round((env.ts - self.now).total_seconds(), 1)
        common = {"id": str(env.id), "kiosk_id": env.kiosk, "ts": ts, "received_at": self.now}
        if message.channel is Channel.EVENTS:
            # The stored event keeps a citizen's free text masked (a phone typed into a form,
            # a comment); the application made from it keeps the original, encrypted.
            stored = _masked_body(env.body) if env.kind in gov_events.KINDS else env.body
            self.events.append({**common, "seq": env.seq, "kind": env.kind, "body": stored})
            if env.kind in gov_events.KINDS:
                self.gov.append(gov_events.GovEvent(str(env.id), env.kiosk, ts, env.kind, env.body))
        elif message.channel is Channel.HEALTH:
            self.health.append({**common, "body": env.body})
            current = self.latest_health.get(env.kiosk)
            if current is None or current[0] < ts:
                self.latest_health[env.kiosk] = (ts, message)
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

    def bounded(self, ts: datetime) -> datetime:
        """A sender's timestamp, or the time of receipt when it lies beyond the allowed skew."""
        return ts if ts <= self.now + self.policy.max_clock_skew else self.now


def _masked_body(body: dict[str, Any]) -> dict[str, Any]:
    masked = dict(body)
    if isinstance(body.get("form"), dict):
        masked["form"] = {
            k: mask_personal_data(v) if isinstance(v, str) else v for k, v in body["form"].items()
        }
    if isinstance(body.get("comment"), str):
        masked["comment"] = mask_personal_data(body["comment"])
    return masked


Admission = Callable[[str], tuple[str, str] | None]  # kiosk id -> None, or (code, reason)


def _admission(session: Session, policy: Policy, kiosk_ids: set[str]) -> Admission:
    """Which kiosk ids may appear in the fleet: all, or (enrolment on) only enrolled ones
    that are not retired (a retired kiosk still connected speaks for no one)."""
    if policy.require_enrolment == "false" or not kiosk_ids:
        return lambda kiosk_id: None
    if (
        policy.require_enrolment == "auto"
        and session.scalar(select(Enrolment.kiosk_id).limit(1)) is None
    ):
        return lambda kiosk_id: None  # no kiosk enrolled yet: a demo or test fleet
    retired_at = {
        kiosk_id: at
        for kiosk_id, at in session.execute(
            select(Enrolment.kiosk_id, Enrolment.retired_at).where(
                Enrolment.kiosk_id.in_(kiosk_ids)
            )
        )
    }

    def admitted(kiosk_id: str) -> tuple[str, str] | None:
        if kiosk_id not in retired_at:
            return "not_enrolled", f"终端 {kiosk_id} 未注册（未经注册的终端不进入终端列表）"
        if retired_at[kiosk_id] is not None:
            return "retired", f"终端 {kiosk_id} 已退役，其消息不予采信"
        return None

    return admitted


def _conflicts(session: Session, rows: _Rows, inserted: set[str]) -> set[str]:
    """Event ids of this batch that were not inserted and differ from what is stored:
    they become dead letters (the stored event stays). Identical ones are redeliveries."""
    candidates = {r["id"]: r for r in rows.events if r["id"] not in inserted}
    if not candidates:
        return set()
    stored = {
        row.id: row
        for row in session.execute(
            select(Event.id, Event.kiosk_id, Event.kind, Event.seq, Event.body).where(
                Event.id.in_(list(candidates))
            )
        )
    }
    conflicting = set()
    for event_id, row in candidates.items():
        old = stored.get(event_id)
        if old is None or _same_event(old._asdict(), row):
            continue
        conflicting.add(event_id)
        rows.dead.append(
            _dead_letter_row(
                Raw(topic(row["kiosk_id"], Channel.EVENTS), _event_json(row)),
                "conflict",
                f"事件编号 {event_id} 已由终端 {old.kiosk_id} 以不同内容（{old.kind}）上报；"
                "本消息未入库，已保留待核查",
                rows.now,
            )
        )
    return conflicting


def _same_event(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return all(a[k] == b[k] for k in ("kiosk_id", "kind", "seq")) and _canonical(
        a["body"]
    ) == _canonical(b["body"])


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _event_json(row: dict[str, Any]) -> bytes:
    return json.dumps(
        {k: row[k] for k in ("id", "kiosk_id", "ts", "seq", "kind", "body")},
        ensure_ascii=False,
        default=str,
    ).encode()


def _dedupe_within_batch(rows: _Rows) -> None:
    """One row per event id in the batch; a second one with other content is a conflict."""
    first: dict[str, dict[str, Any]] = {}
    unique = []
    for row in rows.events:
        seen = first.get(row["id"])
        if seen is None:
            first[row["id"]] = row
            unique.append(row)
        elif _same_event(seen, row):
            rows.repeats.append(row)
        else:
            rows.dead.append(
                _dead_letter_row(
                    Raw(topic(row["kiosk_id"], Channel.EVENTS), _event_json(row)),
                    "conflict",
                    f"同一批次中事件编号 {row['id']} 出现两次且内容不同；后到的一条已保留待核查",
                    rows.now,
                )
            )
    rows.events = unique


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
        seen = sorted(rows.seen)  # every one was seen now, by the backend's clock: one UPDATE
        for i in range(0, len(seen), 1000):
            session.execute(
                update(Kiosk)
                .where(Kiosk.id.in_(seen[i : i + 1000]), Kiosk.last_seen_at < rows.now)
                .values(last_seen_at=rows.now)
            )
    _dedupe_within_batch(rows)
    inserted = {key for (key,) in insert_new(session, Event.__table__, rows.events)}
    rows.conflicts = _conflicts(session, rows, inserted)
    new_gov = [g for g in rows.gov if g.event_id in inserted]
    if new_gov:  # after the events: an application never exists without its event
        gov_events.apply(session, gov or gov_events.default(), new_gov)
    insert_ignoring_duplicates(session, HealthSnapshot.__table__, rows.health)
    insert_ignoring_duplicates(session, CommandResultRow.__table__, rows.commands)
    if rows.dead:
        session.execute(DeadLetter.__table__.insert(), rows.dead)
    if rows.dead_digests:  # if the broker retains one of them, it is not refused again
        insert_new(
            session,
            RetainedSeen.__table__,
            [
                {"digest": raw.digest(), "topic": raw.topic[:512], "seen_at": rows.now}
                for raw in {raw.digest(): raw for raw in rows.dead_digests}.values()
            ],
        )
    for kiosk_id, (ts, message) in rows.latest_health.items():
        body = message.body
        assert isinstance(body, HealthBody)
        skew = rows.skew.get(kiosk_id)
        session.execute(
            update(Kiosk)
            .where(Kiosk.id == kiosk_id, (Kiosk.health_at.is_(None)) | (Kiosk.health_at < ts))
            .values(
                # the fleet's view of the kiosk's health carries its clock skew (clock alert)
                health={**message.envelope.body, "clock_skew_s": skew},
                clock_skew_s=skew,
                health_at=ts,
                app_version=body.app_version,
                outbox_depth=body.outbox_depth,
                outbox_oldest_age_s=body.outbox_oldest_age_s,
            )
        )
    for kiosk_id, skew in rows.skew.items():  # a status without health (a connection began)
        if kiosk_id not in rows.latest_health:
            session.execute(update(Kiosk).where(Kiosk.id == kiosk_id).values(clock_skew_s=skew))
    for message in rows.statuses:  # in arrival order
        body = message.body
        assert isinstance(body, StatusBody)
        connected_at = rows.bounded(body.connected_at)
        values: dict[str, Any] = {
            "online": body.state == "online",
            "status_connected_at": connected_at,
            "status_changed_at": rows.bounded(message.envelope.ts),
        }
        if body.app_version:
            values["app_version"] = body.app_version
        session.execute(
            update(Kiosk)
            .where(
                Kiosk.id == message.envelope.kiosk,
                (Kiosk.status_connected_at.is_(None)) | (Kiosk.status_connected_at <= connected_at),
            )
            .values(**values)
        )
    return len(inserted)


_UNAVAILABLE = (OperationalError, InterfaceError, DisconnectionError)


def store_batch(
    sessions: sessionmaker[Session],
    batch: list[Raw],
    gov: gov_events.GovIngest | None = None,
    policy: Policy | None = None,
) -> BatchResult:
    """Store one batch in one transaction; raises DatabaseUnavailable to retry later."""
    policy = policy or Policy()
    now = utcnow()
    try:
        with sessions.begin() as session:
            fresh = _not_yet_handled(session, batch, now)
            admitted = _admission(session, policy, {_kiosk_of(raw.topic) for raw in fresh})
            rows = _Rows(now, policy, admitted)
            for raw in fresh:
                rows.add(raw)
            inserted = _write(session, rows, gov)
    except _UNAVAILABLE as err:
        raise DatabaseUnavailable(str(err.orig if isinstance(err, DBAPIError) else err)) from err
    except DBAPIError as err:
        if len(batch) == 1:
            return _store_as_dead_letter(sessions, batch[0], err)
        logger.warning(
            "batch of %d refused by the database (%s); storing one by one", len(batch), err.orig
        )
        return _store_one_by_one(sessions, batch, gov, policy)
    result = BatchResult(
        stored_events=inserted,
        duplicate_events=len(rows.events) - inserted - len(rows.conflicts) + len(rows.repeats),
        dead_letters=len(rows.dead),
        retained_skipped=len(batch) - len(fresh),
    )
    for row in [*rows.events, *rows.repeats]:
        # every arrival is confirmed; conflicts too: the message is kept (as a dead letter), so the kiosk may let it go
        result.confirmations[row["kiosk_id"]].append(row["id"])
    return result


RETAINED_MEMORY = timedelta(days=90)


def prune_retained(session: Session, now: datetime) -> int:
    """Forget retained messages handled long ago (a retained message still on the broker
    after that is handled once more: a status is idempotent, junk is one more dead letter)."""
    result = session.execute(
        delete(RetainedSeen).where(RetainedSeen.seen_at < now - RETAINED_MEMORY)
    )
    return max(result.rowcount, 0)


def _kiosk_of(topic_name: str) -> str:
    parts = topic_name.split("/")
    return parts[1] if len(parts) >= 3 and parts[0] == "kiosk" else ""


def _not_yet_handled(session: Session, batch: list[Raw], now: datetime) -> list[Raw]:
    """The batch without the retained messages ingest has already handled; records the
    digests of retained messages so that the next subscription skips them."""
    retained = {raw.digest(): raw for raw in batch if raw.retained}
    if not retained:
        return batch
    known = set(
        session.scalars(select(RetainedSeen.digest).where(RetainedSeen.digest.in_(list(retained))))
    )
    insert_new(
        session,
        RetainedSeen.__table__,
        [
            {"digest": d, "topic": raw.topic[:512], "seen_at": now}
            for d, raw in retained.items()
            if d not in known
        ],
    )
    return [raw for raw in batch if not (raw.retained and raw.digest() in known)]


def _store_one_by_one(
    sessions: sessionmaker[Session],
    batch: list[Raw],
    gov: gov_events.GovIngest | None = None,
    policy: Policy | None = None,
) -> BatchResult:
    total = BatchResult()
    for raw in batch:
        one = store_batch(sessions, [raw], gov, policy)
        total.stored_events += one.stored_events
        total.duplicate_events += one.duplicate_events
        total.dead_letters += one.dead_letters
        total.retained_skipped += one.retained_skipped
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
