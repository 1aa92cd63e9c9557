"""Where a message becomes a row: store_batch against a real, migrated database."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from backend.core.db import make_sessionmaker
from backend.ingest.pipeline import Raw, store_batch
from backend.models import DeadLetter, Event, Kiosk
from mqtt.contract import Channel, encode, make_envelope, topic
from mqtt.contract.messages import HealthBody, StatusBody

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)

REFUSING_TRIGGER = {
    "sqlite": [
        "CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.seq = 666 "
        "BEGIN SELECT RAISE(ABORT, 'refused by policy'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
        "IF NEW.seq = 666 THEN RAISE EXCEPTION 'refused by policy'; END IF; RETURN NEW; END "
        "$$ LANGUAGE plpgsql",
        "CREATE TRIGGER refuse BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse()",
    ],
}


def event(kiosk: str = "k-001", seq: int = 1, **kw: object) -> Raw:
    env = make_envelope(kiosk, "device.fault", {"device": "printer", "code": "jam"}, seq=seq, **kw)
    return Raw(topic(kiosk, Channel.EVENTS), encode(env))


def health(kiosk: str, ts: datetime, depth: int) -> Raw:
    body = HealthBody(
        disk_free_bytes=1, disk_total_bytes=2, app_version="1.2.3", uptime_s=1, outbox_depth=depth
    )
    return Raw(topic(kiosk, Channel.HEALTH), encode(make_envelope(kiosk, "health", body, ts=ts)))


def status(kiosk: str, state: str, connected_at: datetime) -> Raw:
    body = StatusBody(state=state, connected_at=connected_at)
    return Raw(topic(kiosk, Channel.STATUS), encode(make_envelope(kiosk, "status", body)))


@pytest.fixture
def sessions(fleet_db: Engine):
    return make_sessionmaker(fleet_db)


def rows(sessions, model):
    with sessions() as session:
        return session.scalars(select(model)).all()


def test_events_are_stored_once_and_confirmed_every_time(sessions) -> None:
    first, second = event(seq=1), event(seq=2)
    result = store_batch(sessions, [first, second, first])
    assert result.stored_events == 2
    assert result.duplicate_events == 1
    assert len(result.confirmations["k-001"]) == 3
    again = store_batch(sessions, [second])
    assert again.stored_events == 0
    assert again.confirmations["k-001"] == [json.loads(second.payload)["id"]]
    stored = rows(sessions, Event)
    assert sorted(e.seq for e in stored) == [1, 2]
    assert {e.kiosk_id for e in stored} == {"k-001"}
    assert all(e.ts.tzinfo is not None for e in stored)


def test_invalid_messages_become_dead_letters_with_reasons(sessions) -> None:
    good = event()
    bad = [
        Raw("kiosk/k-001/events", b"{not json"),
        Raw("kiosk/k-001/events", json.dumps({"v": 9}).encode()),
        Raw("kiosk/k-002/events", event("k-001").payload),
        Raw(
            "kiosk/k-001/events/ack",
            encode(make_envelope("k-001", "events.ack", {"ids": [uuid.uuid4()]})),
        ),
        Raw("kiosk/k-001/events", b"x" * 70_000),
    ]
    result = store_batch(sessions, [good, *bad])
    assert result.stored_events == 1
    assert result.dead_letters == 5
    dead = sorted(rows(sessions, DeadLetter), key=lambda d: d.id)
    assert [d.reason_code for d in dead] == [
        "not_json",
        "unknown_version",
        "kiosk_mismatch",
        "wrong_direction",
        "too_large",
    ]
    assert all(d.reason for d in dead)
    assert dead[-1].payload_size == 70_000 and len(dead[-1].payload) == 64 * 1024


def test_a_message_the_database_refuses_is_dead_lettered_not_fatal(
    sessions, fleet_db: Engine
) -> None:
    # A trigger stands in for a database that refuses one row's content (a
    # constraint, a value out of range): the rest of the batch must still land.
    with fleet_db.begin() as conn:
        for statement in REFUSING_TRIGGER[fleet_db.dialect.name]:
            conn.execute(text(statement))
    batch = [event(seq=1), event(seq=666), event(seq=2)]
    result = store_batch(sessions, batch)
    assert result.stored_events == 2
    assert result.dead_letters == 1
    (dead,) = rows(sessions, DeadLetter)
    assert dead.reason_code == "db_refused" and "refused by policy" in dead.reason
    assert sorted(e.seq for e in rows(sessions, Event)) == [1, 2]


def test_latest_health_wins_whatever_the_arrival_order(sessions) -> None:
    store_batch(sessions, [health("k-001", T0 + timedelta(seconds=30), depth=5)])
    store_batch(sessions, [health("k-001", T0, depth=99)])  # late, older snapshot
    (kiosk,) = rows(sessions, Kiosk)
    assert kiosk.outbox_depth == 5
    assert kiosk.app_version == "1.2.3"
    assert kiosk.health_at == T0 + timedelta(seconds=30)


def test_a_late_last_will_of_an_old_connection_does_not_mark_a_kiosk_offline(sessions) -> None:
    store_batch(sessions, [status("k-001", "online", T0)])
    store_batch(sessions, [status("k-001", "online", T0 + timedelta(minutes=5))])
    store_batch(sessions, [status("k-001", "offline", T0)])  # will of the first connection
    with sessions() as session:
        assert session.get(Kiosk, "k-001").online is True
    store_batch(sessions, [status("k-001", "offline", T0 + timedelta(minutes=5))])
    with sessions() as session:
        assert session.get(Kiosk, "k-001").online is False


def test_last_seen_only_moves_forward(sessions) -> None:
    store_batch(sessions, [event(ts=T0 + timedelta(hours=1))])
    store_batch(sessions, [event(ts=T0)])
    with Session(sessions.kw["bind"]) as session:
        kiosk = session.get(Kiosk, "k-001")
        assert kiosk.last_seen_at == T0 + timedelta(hours=1)
        assert kiosk.first_seen_at == T0 + timedelta(hours=1)
