"""Outbox -> agent -> Mosquitto -> ingest -> database, with real processes.

Each failure test pushes 10,000 events and breaks one part mid-stream; every
event must arrive exactly once, in the kiosk's order (by outbox sequence).
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import paho.mqtt.client as paho
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from backend.api.main import create_app
from backend.core.config import Settings
from backend.services import tokens
from mqtt.broker import LocalBroker
from mqtt.client import new_client
from mqtt.contract import Channel, encode, make_envelope, topic
from mqtt.contract.envelope import utc_now
from tests.conftest import Processes, wait_for
from tests.e2e.conftest import (
    KIOSK,
    N,
    kiosk_outbox,
    push_and_break,
    start_agent,
    start_ingest,
    stored,
    stored_ids_by_seq,
)

SESSION = str(uuid.uuid4())

TRANSACTION = [
    (
        "session.started",
        {"session_id": SESSION, "card_type": "social_security", "holder": "110105********002X"},
    ),
    ("card.read", {"session_id": SESSION, "card_type": "social_security", "outcome": "ok"}),
    (
        "face.verified",
        {
            "session_id": SESSION,
            "decision": "match",
            "distance": 0.31,
            "threshold": 0.45,
            "liveness": "passed",
            "attempt": 1,
            "duration_ms": 840,
        },
    ),
    (
        "application.submitted",
        {
            "session_id": SESSION,
            "receipt_no": "R20261123-0001",
            "item_code": "11110000000000000X4000111001",
            "item_name": "社会保障卡补领",
            "applicant": "110105********002X",
            "citizen_id": "7b0c0a46-0b8f-4d3e-9d1e-1c2f3a4b5c01",
        },
    ),
    (
        "receipt.printed",
        {
            "session_id": SESSION,
            "document": "receipt",
            "reference": "R20261123-0001",
            "outcome": "printed",
        },
    ),
    ("rating.submitted", {"session_id": SESSION, "level": 5, "receipt_no": "R20261123-0001"}),
    ("session.ended", {"session_id": SESSION, "reason": "completed", "duration_s": 95.0}),
]


def raw_client(broker: LocalBroker, client_id: str) -> paho.Client:
    client = new_client(client_id)
    client.connect(broker.host, broker.port)
    client.loop_start()
    return client


def test_a_transaction_arrives_once_and_is_served_by_the_api(
    fleet: Processes, fleet_db: Engine, fleet_db_url: str
) -> None:
    outbox = kiosk_outbox(fleet, KIOSK)
    put = [outbox.put(kind, body) for kind, body in TRANSACTION]
    start_ingest(fleet)
    start_agent(fleet, KIOSK)
    assert wait_for(lambda: stored(fleet_db) == len(put) and outbox.stats().depth == 0, 30)
    assert stored_ids_by_seq(fleet_db, KIOSK) == [e.id for e in put]

    with Session(fleet_db) as session:  # the ops API needs a role (a monitoring token)
        token = tokens.create_token(session, role="operator", name="e2e")
        session.commit()
    with TestClient(create_app(Settings(database_url=fleet_db_url))) as api:
        api.headers["Authorization"] = f"Bearer {token}"
        assert wait_for(
            lambda: api.get(f"/api/v1/ops/kiosks/{KIOSK}").json()["health"] is not None, 10
        )
        events = api.get("/api/v1/ops/events", params={"kiosk": KIOSK}).json()["items"]
        assert [e["kind"] for e in reversed(events)] == [kind for kind, _ in TRANSACTION]
        kiosk = api.get(f"/api/v1/ops/kiosks/{KIOSK}").json()
        assert kiosk["online"] is True
        assert kiosk["event_count"] == len(TRANSACTION)
        assert wait_for(
            lambda: api.get(f"/api/v1/ops/kiosks/{KIOSK}").json()["outbox_depth"] == 0, 10
        )


@pytest.mark.slow
def test_broker_killed_and_restarted_without_persistence(
    fleet: Processes, fleet_db: Engine, broker: LocalBroker
) -> None:
    def restart_broker() -> None:
        broker.kill()
        broker.start()

    push_and_break(fleet, fleet_db, restart_broker)
    assert stored(fleet_db) == N


@pytest.mark.slow
def test_agent_sigkilled_and_restarted(fleet: Processes, fleet_db: Engine) -> None:
    def restart_agent() -> None:
        fleet.kill(f"agent-{KIOSK}")
        fleet.agent(KIOSK)

    push_and_break(fleet, fleet_db, restart_agent)
    assert stored(fleet_db) == N


@pytest.mark.slow
def test_ingest_sigkilled_and_restarted(fleet: Processes, fleet_db: Engine) -> None:
    def restart_ingest() -> None:
        fleet.kill("ingest-1")
        fleet.ingest("ingest-1")

    push_and_break(fleet, fleet_db, restart_ingest)
    assert stored(fleet_db) == N


@pytest.mark.slow
def test_one_of_two_ingests_dies_and_never_returns(fleet: Processes, fleet_db: Engine) -> None:
    push_and_break(
        fleet, fleet_db, lambda: fleet.kill("ingest-2"), ingests=("ingest-1", "ingest-2")
    )
    assert fleet.alive("ingest-1")


def malformed_messages(count: int) -> list[tuple[str, bytes]]:
    """A spread of everything that can be wrong with a message, ``count`` in all."""
    good = json.loads(encode(make_envelope(KIOSK, "device.recovered", {"device": "camera"})))
    events = topic(KIOSK, Channel.EVENTS)
    shapes = [
        (events, b"not json"),
        (events, b"\xff\xfe\xfd"),
        (events, b""),
        (events, b"[1,2,3]"),
        (events, b"[" * 20_000 + b"]" * 20_000),
        (events, json.dumps({**good, "v": 2}).encode()),
        (events, json.dumps({**good, "id": "nope"}).encode()),
        (events, json.dumps({**good, "kiosk": "someone-else"}).encode()),
        (events, json.dumps({**good, "kind": "unheard.of"}).encode()),
        (events, json.dumps({**good, "body": {"device": 42}}).encode()),
        (events, json.dumps({**good, "ts": "last tuesday"}).encode()),
        (events, json.dumps({**good, "body": {"device": "a\u0000b"}}).encode() + b"x" * 70_000),
        (topic(KIOSK, Channel.HEALTH), json.dumps({**good, "kind": "health"}).encode()),
        (topic(KIOSK, Channel.COMMANDS_ACK), json.dumps(good).encode()),
        ("kiosk/NOT_A_KIOSK/events", json.dumps(good).encode()),
    ]
    return [
        (t, p if i < len(shapes) else p.replace(b"camera", f"c{i}".encode()))
        for i, (t, p) in ((i, shapes[i % len(shapes)]) for i in range(count))
    ]


def test_a_thousand_malformed_messages_become_dead_letters(
    fleet: Processes, fleet_db: Engine, broker: LocalBroker
) -> None:
    start_ingest(fleet)
    attacker = raw_client(broker, "raw-publisher")
    for t, payload in malformed_messages(1000):
        attacker.publish(t, payload, qos=1)

    def dead() -> int:
        with fleet_db.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM dead_letters")).scalar_one()

    assert wait_for(lambda: dead() == 1000, 60), f"{dead()} dead letters"
    assert fleet.alive("ingest-1")
    with fleet_db.connect() as conn:
        reasons = dict(
            conn.execute(
                text("SELECT reason_code, count(*) FROM dead_letters GROUP BY reason_code")
            ).all()
        )
        assert (
            conn.execute(text("SELECT count(*) FROM dead_letters WHERE reason = ''")).scalar_one()
            == 0
        )
    assert set(reasons) >= {
        "not_json",
        "not_object",
        "unknown_version",
        "bad_envelope",
        "kiosk_mismatch",
        "unknown_kind",
        "bad_body",
        "wrong_channel",
        "too_large",
        "bad_kiosk_id",
    }
    attacker.loop_stop()

    # and ingest still stores good events afterwards
    outbox = kiosk_outbox(fleet, KIOSK)
    outbox.put("device.recovered", {"device": "camera"})
    start_agent(fleet, KIOSK)
    assert wait_for(lambda: stored(fleet_db) == 1 and outbox.stats().depth == 0, 30)


def kiosk_online(engine: Engine, kiosk_id: str) -> bool | None:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT online FROM kiosks WHERE id = :k"), {"k": kiosk_id}).first()
    return None if row is None else bool(row[0])


def test_the_last_will_marks_a_killed_agent_offline(fleet: Processes, fleet_db: Engine) -> None:
    start_ingest(fleet)
    start_agent(fleet, KIOSK)
    assert wait_for(lambda: kiosk_online(fleet_db, KIOSK) is True, 20)
    fleet.kill(f"agent-{KIOSK}")
    assert wait_for(lambda: kiosk_online(fleet_db, KIOSK) is False, 10)
    start_agent(fleet, KIOSK)  # and back online with a new connection
    assert wait_for(lambda: kiosk_online(fleet_db, KIOSK) is True, 20)
    assert fleet.stop(f"agent-{KIOSK}") == 0  # a clean stop says offline itself
    assert wait_for(lambda: kiosk_online(fleet_db, KIOSK) is False, 10)


def test_commands_run_once_and_stale_ones_are_refused(
    fleet: Processes, fleet_db: Engine, broker: LocalBroker
) -> None:
    start_ingest(fleet)
    start_agent(fleet, KIOSK)
    ops = raw_client(broker, "ops-console")
    commands = {
        "fresh": make_envelope(
            KIOSK,
            "command",
            {"name": "collect_diagnostics", "expires_at": utc_now() + timedelta(minutes=1)},
        ),
        "stale": make_envelope(
            KIOSK,
            "command",
            {"name": "collect_diagnostics", "expires_at": utc_now() - timedelta(hours=3)},
        ),
        "unknown": make_envelope(
            KIOSK,
            "command",
            {"name": "launch_rockets", "expires_at": utc_now() + timedelta(minutes=1)},
        ),
    }
    for envelope in commands.values():
        ops.publish(topic(KIOSK, Channel.COMMANDS), encode(envelope), qos=1).wait_for_publish(5)
    ops.loop_stop()

    def outcomes() -> dict[str, str]:
        with fleet_db.connect() as conn:
            return dict(conn.execute(text("SELECT command_id, outcome FROM command_results")).all())

    assert wait_for(lambda: len(outcomes()) == 3, 20), outcomes()
    got = outcomes()
    assert got[str(commands["fresh"].id)] == "done"
    assert got[str(commands["stale"].id)] == "expired"
    assert got[str(commands["unknown"].id)] == "unsupported"
