"""The app-command queue's contract (real SQLite), and the agent carrying a command through it."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mqtt.agent.agent import Agent
from mqtt.agent.app_commands import AppCommandQueue
from mqtt.agent.config import AgentSettings
from mqtt.broker import LocalBroker
from mqtt.client import new_client
from mqtt.contract import Channel, encode, make_envelope, topic
from tests.conftest import wait_for

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def queue(tmp_path: Path) -> AppCommandQueue:
    return AppCommandQueue(tmp_path / "kiosk.db")


def test_put_take_complete_and_report_once(queue: AppCommandQueue) -> None:
    assert queue.put("c1", "print_test_page", {"copies": 1}, NOW + timedelta(minutes=5))
    assert not queue.put(
        "c1", "print_test_page", {"copies": 1}, NOW + timedelta(minutes=5)
    )  # redelivery
    taken = queue.next_pending(NOW)
    assert taken is not None and taken.command_id == "c1" and taken.args == {"copies": 1}
    assert taken.state == "taken"
    assert queue.next_pending(NOW) is None  # handed out once
    queue.complete("c1", "done", "测试页已打印", {"paper": "ok"})
    assert queue.get("c1").state == "done" and queue.get("c1").data == {"paper": "ok"}
    (finished,) = queue.unreported()
    assert finished.detail == "测试页已打印"
    queue.mark_reported(["c1"])
    assert queue.unreported() == []
    with pytest.raises(LookupError):
        queue.complete("c1", "failed")  # already finished
    with pytest.raises(ValueError):
        queue.complete("c1", "maybe")


def test_expired_commands_are_skipped_never_handed_out(queue: AppCommandQueue) -> None:
    queue.put("stale-unlock", "unlock", {}, NOW - timedelta(seconds=1))
    queue.put("fresh-lock", "lock", {}, NOW + timedelta(minutes=5))
    taken = queue.next_pending(NOW)
    assert taken.command_id == "fresh-lock"
    assert queue.get("stale-unlock").state == "expired"
    assert [c.command_id for c in queue.unreported()] == ["stale-unlock"]


def test_overdue_commands_are_closed_by_the_agent(queue: AppCommandQueue) -> None:
    queue.put("never-taken", "sync_catalog", {}, NOW + timedelta(seconds=10))
    queue.put("stuck", "restart_app", {}, NOW + timedelta(hours=1))
    queue.put("later", "lock", {}, NOW + timedelta(hours=1))
    assert queue.next_pending(NOW).command_id == "never-taken"  # oldest first
    queue.complete("never-taken", "done")
    assert queue.next_pending(NOW).command_id == "stuck"
    assert queue.expire_overdue(NOW + timedelta(minutes=1), taken_timeout_s=0.0) == 1
    assert queue.get("stuck").state == "failed" and "did not finish" in queue.get("stuck").detail
    assert queue.expire_overdue(NOW + timedelta(hours=2), taken_timeout_s=60) == 1
    assert queue.get("later").state == "expired"


def test_two_processes_share_the_file(tmp_path: Path) -> None:
    agent_side = AppCommandQueue(tmp_path / "kiosk.db")
    app_side = AppCommandQueue(tmp_path / "kiosk.db")
    agent_side.put("c1", "lock", {}, NOW + timedelta(minutes=1))
    assert app_side.next_pending(NOW).name == "lock"
    app_side.complete("c1", "done")
    assert agent_side.unreported()[0].state == "done"


def test_the_agent_hands_app_commands_over_and_reports_the_apps_result(
    tmp_path: Path, broker: LocalBroker
) -> None:
    kiosk = "k110101-0001"
    settings = AgentSettings(
        id=kiosk, data_dir=tmp_path / "kiosk", mqtt_url=broker.url, health_interval_s=60
    )
    stop = threading.Event()
    agents: list[Agent] = []

    def run() -> None:  # the agent's SQLite file belongs to the thread that runs it
        agents.append(Agent(settings))
        agents[0].run(stop)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    results: list[dict] = []
    ops = new_client("test-ops")
    ops.on_message = lambda c, u, m: results.append(json.loads(m.payload))
    subscribed = threading.Event()
    ops.on_subscribe = lambda *a: subscribed.set()
    ops.connect("127.0.0.1", broker.port)
    ops.subscribe(topic(kiosk, Channel.COMMANDS_ACK), qos=1)
    ops.loop_start()
    try:
        assert subscribed.wait(10) and wait_for(
            lambda: agents and agents[0]._subscribed.is_set(), 10
        )
        fresh = make_envelope(
            kiosk,
            "command",
            {"name": "print_test_page", "expires_at": datetime.now(UTC) + timedelta(minutes=1)},
        )
        stale = make_envelope(
            kiosk,
            "command",
            {"name": "unlock", "expires_at": datetime.now(UTC) - timedelta(hours=2)},
        )
        for envelope in (fresh, stale):
            ops.publish(topic(kiosk, Channel.COMMANDS), encode(envelope), qos=1)
        assert wait_for(lambda: len(results) == 1, 10)  # the stale one, refused at once
        assert results[0]["body"] == {
            "command_id": str(stale.id),
            "outcome": "expired",
            "detail": results[0]["body"]["detail"],
            "data": {},
        }
        app = AppCommandQueue(settings.db_path)  # the kiosk app's side
        app.put("not-a-uuid", "lock", {}, datetime.now(UTC) + timedelta(minutes=1))
        app.complete("not-a-uuid", "done")  # a row no backend command made: skipped, no crash
        assert wait_for(lambda: app.get(str(fresh.id)) is not None, 10)
        taken = app.next_pending()
        assert taken.name == "print_test_page"
        app.complete(taken.command_id, "done", "测试页已打印")
        assert wait_for(lambda: len(results) == 2, 10)
        body = results[1]["body"]
        assert (body["command_id"], body["outcome"], body["detail"]) == (
            str(fresh.id),
            "done",
            "测试页已打印",
        )
    finally:
        stop.set()
        thread.join(10)
        ops.loop_stop()
        ops.disconnect()
    assert isinstance(uuid.UUID(results[1]["id"]), uuid.UUID)
