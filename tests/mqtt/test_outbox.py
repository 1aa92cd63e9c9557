"""The outbox contract (put -> next_batch -> ack) against real SQLite files."""

from __future__ import annotations

import multiprocessing
import os
import signal
import uuid
from pathlib import Path

import pytest

from mqtt.contract import ContractError, decode
from mqtt.outbox import Outbox

FAULT = {"device": "printer", "code": "paper_out"}


@pytest.fixture
def fresh_outbox(tmp_path: Path) -> Outbox:
    return Outbox.open(tmp_path / "kiosk.db")


def test_put_next_batch_ack(fresh_outbox: Outbox) -> None:
    first = fresh_outbox.put("device.fault", FAULT)
    second = fresh_outbox.put("device.recovered", {"device": "printer"})
    assert [e.id for e in fresh_outbox.next_batch(10)] == [first.id, second.id]
    assert [e.id for e in fresh_outbox.next_batch(10, after_seq=first.seq)] == [second.id]
    assert fresh_outbox.ack([first.id, str(uuid.uuid4())]) == 1
    assert fresh_outbox.ids() == [second.id]
    assert fresh_outbox.stats().depth == 1


def test_sequence_keeps_growing_after_everything_is_acked(fresh_outbox: Outbox) -> None:
    a = fresh_outbox.put("device.fault", FAULT)
    fresh_outbox.ack([a.id])
    b = fresh_outbox.put("device.fault", FAULT)
    assert b.seq > a.seq


def test_the_wire_payload_is_a_valid_contract_message(fresh_outbox: Outbox) -> None:
    event = fresh_outbox.put("device.fault", {**FAULT, "detail": "纸仓已空"})
    message = decode("kiosk/k-001/events", event.payload("k-001"))
    assert str(message.id) == event.id
    assert message.envelope.seq == event.seq
    assert message.body.model_dump(exclude_none=True) == {**FAULT, "detail": "纸仓已空"}


@pytest.mark.parametrize(
    ("kind", "body", "code"),
    [
        ("health", {}, "unknown_kind"),
        ("no.such", {}, "unknown_kind"),
        ("device.fault", {"device": "printer"}, "bad_body"),
        ("device.fault", {**FAULT, "detail": "x" * 70_000}, "bad_body"),
    ],
)
def test_bad_events_are_refused_and_nothing_is_stored(
    fresh_outbox: Outbox, kind: str, body: dict, code: str
) -> None:
    with pytest.raises(ContractError) as caught:
        fresh_outbox.put(kind, body)
    assert caught.value.code == code
    assert fresh_outbox.stats().depth == 0


def test_put_joins_the_callers_transaction(fresh_outbox: Outbox) -> None:
    db = fresh_outbox.db
    db.execute("CREATE TABLE journal (what TEXT)")
    with pytest.raises(RuntimeError), db.atomic():
        db.execute("INSERT INTO journal VALUES ('printed')")
        fresh_outbox.put("device.fault", FAULT)
        raise RuntimeError("the action failed after the event was written")
    assert fresh_outbox.stats().depth == 0
    assert db.execute("SELECT count(*) FROM journal").fetchone()[0] == 0
    with db.atomic():
        db.execute("INSERT INTO journal VALUES ('printed')")
        fresh_outbox.put("device.fault", FAULT)
    assert fresh_outbox.stats().depth == 1


def _put_then_die(path: str, count: int) -> None:
    outbox = Outbox.open(path)
    for i in range(count):
        outbox.put("device.fault", {"device": "printer", "code": f"c{i}"})
    os.kill(os.getpid(), signal.SIGKILL)  # no close, no cleanup: as a power cut would


def test_an_event_is_durable_once_put_returns(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    child = multiprocessing.get_context("spawn").Process(target=_put_then_die, args=(str(path), 50))
    child.start()
    child.join(30)
    assert child.exitcode == -signal.SIGKILL
    survivor = Outbox.open(path)
    assert survivor.stats().depth == 50
    assert [e.seq for e in survivor.next_batch(100)] == list(range(1, 51))


def test_durability_pragmas(fresh_outbox: Outbox) -> None:
    assert fresh_outbox.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert fresh_outbox.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_age_of_the_oldest_event(fresh_outbox: Outbox) -> None:
    assert fresh_outbox.stats().oldest_age_s is None
    fresh_outbox.put("device.fault", FAULT)
    created = fresh_outbox.db.execute("SELECT created FROM outbox").fetchone()[0]
    assert fresh_outbox.stats(now=created + 12.5).oldest_age_s == pytest.approx(12.5)
