"""Where a message becomes a row: store_batch against a real, migrated database."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from backend.core.db import make_sessionmaker
from backend.ingest.pipeline import Policy, Raw, store_batch
from backend.models import DeadLetter, Enrolment, Event, HealthSnapshot, Kiosk
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


def test_last_seen_is_the_backends_time_of_receipt_whatever_the_kiosk_claims(sessions) -> None:
    before = datetime.now(UTC)
    store_batch(sessions, [event(ts=datetime(9999, 1, 1, tzinfo=UTC))])
    store_batch(sessions, [event(ts=T0)])
    with Session(sessions.kw["bind"]) as session:
        kiosk = session.get(Kiosk, "k-001")
        assert before <= kiosk.first_seen_at <= kiosk.last_seen_at <= datetime.now(UTC)


# --- what a sender claims ---------------------------------------------------------------------


def test_a_health_from_the_year_9999_does_not_freeze_the_kiosks_state(sessions) -> None:
    now = datetime.now(UTC)
    store_batch(sessions, [health("k-001", datetime(9999, 12, 31, tzinfo=UTC), depth=1)])
    store_batch(sessions, [health("k-001", now + timedelta(seconds=30), depth=7)])
    (kiosk,) = rows(sessions, Kiosk)
    assert kiosk.outbox_depth == 7  # the later real snapshot is applied
    assert kiosk.health_at < now + timedelta(minutes=1)
    assert abs(kiosk.clock_skew_s - 30) < 5 and kiosk.health["clock_skew_s"] == kiosk.clock_skew_s
    stored = sorted(h.ts for h in rows(sessions, HealthSnapshot))
    assert stored[-1] < now + timedelta(minutes=1)  # the year 9999 is not kept as its time


def test_a_far_future_connected_at_cannot_keep_a_kiosk_online_or_offline(sessions) -> None:
    now = datetime.now(UTC)
    store_batch(sessions, [status("k-001", "offline", datetime(9999, 1, 1, tzinfo=UTC))])
    store_batch(sessions, [status("k-001", "online", now + timedelta(seconds=5))])
    with sessions() as session:
        kiosk = session.get(Kiosk, "k-001")
        assert kiosk.online is True
        assert kiosk.status_connected_at < now + timedelta(minutes=1)


def test_a_kiosk_whose_clock_is_wrong_gets_its_skew_recorded(sessions) -> None:
    now = datetime.now(UTC)
    store_batch(sessions, [health("k-001", now - timedelta(hours=2), depth=0)])
    (kiosk,) = rows(sessions, Kiosk)
    assert -7300 < kiosk.clock_skew_s < -7100  # behind: kept as sent, the skew recorded
    store_batch(sessions, [health("k-001", now + timedelta(days=3), depth=0)])
    (kiosk,) = rows(sessions, Kiosk)
    assert kiosk.clock_skew_s > 3 * 86400 - 100  # ahead: the skew is what the alert reads


def test_an_event_id_cannot_be_claimed_by_another_sender(sessions) -> None:
    """Kiosk A re-using B's event id must not make B's event vanish as a "duplicate"."""
    genuine = event("k-001", seq=1)
    forged = json.loads(genuine.payload)
    forged["kiosk"] = "k-002"
    forged["body"]["code"] = "forged"
    other = Raw(topic("k-002", Channel.EVENTS), json.dumps(forged).encode())
    store_batch(sessions, [genuine])
    result = store_batch(sessions, [other])
    assert result.stored_events == 0 and result.duplicate_events == 0
    assert result.dead_letters == 1
    assert result.confirmations["k-002"] == [forged["id"]]  # kept, so the sender may let go
    (dead,) = rows(sessions, DeadLetter)
    assert dead.reason_code == "conflict" and "k-001" in dead.reason
    assert b"forged" in dead.payload
    (stored,) = rows(sessions, Event)
    assert stored.kiosk_id == "k-001" and stored.body["code"] == "jam"


def test_the_same_event_id_twice_in_a_batch_with_other_content_is_a_conflict(sessions) -> None:
    first = event("k-001", seq=1)
    changed = json.loads(first.payload)
    changed["seq"] = 2
    second = Raw(first.topic, json.dumps(changed).encode())
    result = store_batch(sessions, [first, second])
    assert result.stored_events == 1 and result.dead_letters == 1
    assert [d.reason_code for d in rows(sessions, DeadLetter)] == ["conflict"]


def test_retained_messages_are_handled_once_however_often_ingest_subscribes(sessions) -> None:
    junk = [Raw(f"kiosk/ghost-{i:03d}/status", b"junk", retained=True) for i in range(50)]
    live = status("k-001", "online", datetime.now(UTC))
    for _ in range(3):  # three reconnects of ingest: the broker hands them over each time
        store_batch(sessions, [*junk, Raw(live.topic, live.payload, retained=True)])
    assert len(rows(sessions, DeadLetter)) == 50
    assert [k.id for k in rows(sessions, Kiosk)] == ["k-001"]
    # a junk message first seen live, retained by the broker, is not refused again either
    published = Raw("kiosk/k-009/events", b"{not json")
    store_batch(sessions, [published])
    store_batch(sessions, [Raw(published.topic, published.payload, retained=True)])
    assert len(rows(sessions, DeadLetter)) == 51


def test_with_enrolment_on_an_unknown_kiosk_creates_no_kiosk(sessions) -> None:
    with sessions.begin() as session:
        session.add(
            Enrolment(
                kiosk_id="k-001",
                site="东城区政务服务中心",
                region_code="110101",
                certificate_serial="01",
                enrolled_at=T0,
            )
        )
    now = datetime.now(UTC)
    batch = [
        health("k-001", now, depth=0),
        health("ghost-001", now, depth=0),
        status("ghost-002", "online", now),
        event("ghost-003"),
    ]
    result = store_batch(sessions, batch)
    assert result.dead_letters == 3 and result.stored_events == 0
    assert [k.id for k in rows(sessions, Kiosk)] == ["k-001"]
    assert {d.reason_code for d in rows(sessions, DeadLetter)} == {"not_enrolled"}
    # and with enrolment off they are admitted (a demo or test fleet)
    store_batch(
        sessions, [health("ghost-001", now, depth=0)], policy=Policy(require_enrolment="false")
    )
    assert sorted(k.id for k in rows(sessions, Kiosk)) == ["ghost-001", "k-001"]


def test_a_retired_kiosk_still_connected_speaks_for_no_one(sessions) -> None:
    with sessions.begin() as session:
        session.add(
            Enrolment(
                kiosk_id="k-001",
                site="东城区政务服务中心",
                region_code="110101",
                certificate_serial="01",
                enrolled_at=T0,
                retired_at=T0 + timedelta(days=1),
            )
        )
    result = store_batch(sessions, [health("k-001", datetime.now(UTC), depth=0), event("k-001")])
    assert result.dead_letters == 2 and result.stored_events == 0
    assert {d.reason_code for d in rows(sessions, DeadLetter)} == {"retired"}
