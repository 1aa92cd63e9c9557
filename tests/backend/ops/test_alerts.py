"""Alert rules against kiosks filled by the real pipeline: open once, acknowledge, resolve by themselves."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from backend.alerts.notify import WebhookNotifier
from backend.alerts.worker import run_once
from backend.core.config import Settings
from backend.core.db import make_sessionmaker
from backend.models import Alert, FleetSample
from backend.services import alerts as alerts_service
from tests.backend.ops.conftest import CSRF, Feeder, health, login


def _evaluate(
    engine: Engine, settings: Settings, now: datetime | None = None
) -> alerts_service.Evaluation:
    with Session(engine) as session:
        result = alerts_service.evaluate(session, settings, now=now or datetime.now(UTC))
        session.commit()
        return result


def _open(engine: Engine) -> dict[tuple[str, str], Alert]:
    with Session(engine) as session:
        rows = session.scalars(select(Alert).where(Alert.resolved_at.is_(None))).all()
        return {(a.kiosk_id, a.rule): a for a in rows}


def _face(feed: Feeder, kiosk: str, decisions: list[str]) -> None:
    feed.send(
        *[
            feed.raw(
                kiosk,
                "face.verified",
                {
                    "session_id": str(uuid.uuid4()),
                    "decision": d,
                    "liveness": "passed",
                    "attempt": 1,
                    "duration_ms": 900,
                },
            )
            for d in decisions
        ]
    )


def test_every_rule_raises_its_alert(
    feed: Feeder, fleet_db: Engine, ops_settings: Settings
) -> None:
    now = datetime.now(UTC)
    feed.kiosk("k-offline", ts=now - timedelta(minutes=6))
    feed.kiosk("k-paper-out", paper="out")
    feed.kiosk("k-paper-low", paper="low")
    feed.kiosk(
        "k-reader",
        devices={
            "card_reader": {"state": "fault", "detail": "PC/SC 服务无响应"},
            "camera": {"state": "ok"},
        },
    )
    feed.kiosk("k-camera", devices={"card_reader": {"state": "ok"}, "camera": {"state": "absent"}})
    feed.kiosk("k-backlog", outbox_depth=900, outbox_oldest_age_s=1200.0)
    feed.kiosk("k-disk", disk_free_bytes=2 * 10**9)
    feed.kiosk("k-face")
    _face(feed, "k-face", ["no_match"] * 6 + ["match"] * 6)
    feed.kiosk("k-fine")
    _face(feed, "k-fine", ["no_match"] * 1 + ["match"] * 11)
    # a kiosk whose clock runs 10 minutes fast (beyond FLEET_ALERT_CLOCK_SKEW_S)
    feed.send(feed.raw("k-clock", "health", health(), ts=now + timedelta(minutes=10)))
    result = _evaluate(fleet_db, ops_settings, now)
    assert {(c.kiosk_id, c.rule) for c in result.changes} == {
        ("k-offline", "offline"),
        ("k-paper-out", "paper"),
        ("k-paper-low", "paper"),
        ("k-reader", "card_reader"),
        ("k-camera", "camera"),
        ("k-backlog", "outbox_backlog"),
        ("k-disk", "disk"),
        ("k-face", "face_failure_rate"),
        ("k-clock", "clock"),
    }
    alerts = _open(fleet_db)
    assert alerts[("k-paper-out", "paper")].severity == "critical"
    assert alerts[("k-paper-low", "paper")].severity == "warning"
    assert "读卡器故障" in alerts[("k-reader", "card_reader")].detail
    assert alerts[("k-face", "face_failure_rate")].value == 0.5
    assert "时钟快" in alerts[("k-clock", "clock")].detail


def test_one_open_alert_per_kiosk_and_rule_then_resolved_when_clear(
    feed: Feeder, fleet_db: Engine, ops_settings: Settings
) -> None:
    feed.kiosk("k-1", paper="low")
    _evaluate(fleet_db, ops_settings)
    again = _evaluate(fleet_db, ops_settings)
    assert again.changes == []  # de-duplicated
    feed.kiosk("k-1", paper="out")  # worse: same alert, escalated
    escalated = _evaluate(fleet_db, ops_settings)
    assert [c.change for c in escalated.changes] == ["escalated"]
    assert len(_open(fleet_db)) == 1 and _open(fleet_db)[("k-1", "paper")].severity == "critical"
    feed.kiosk("k-1", paper="ok")
    resolved = _evaluate(fleet_db, ops_settings)
    assert [c.change for c in resolved.changes] == ["resolved"]
    assert _open(fleet_db) == {}
    feed.kiosk("k-1", paper="out")  # a new episode is a new alert; the old one stays in history
    _evaluate(fleet_db, ops_settings)
    with Session(fleet_db) as session:
        history, total = alerts_service.list_alerts(session, active=None)
    assert total == 2 and [a.state for a, _ in history] == ["open", "resolved"]


def test_the_database_refuses_a_second_open_alert(fleet_db: Engine) -> None:
    now = datetime.now(UTC)
    with Session(fleet_db) as session:
        for _ in range(2):
            session.add(
                Alert(
                    kiosk_id="k-1",
                    rule="paper",
                    severity="warning",
                    state="open",
                    detail="x",
                    opened_at=now,
                    updated_at=now,
                )
            )
        with pytest.raises(Exception, match=r"(?i)unique"):
            session.commit()


def test_a_fast_growing_backlog_raises_an_alert_before_the_thresholds(
    feed: Feeder, fleet_db: Engine, ops_settings: Settings
) -> None:
    now = datetime.now(UTC)
    feed.kiosk("k-growing", outbox_depth=10, ts=now - timedelta(minutes=11))
    feed.kiosk("k-steady", outbox_depth=300, ts=now - timedelta(minutes=11))
    feed.kiosk("k-growing", outbox_depth=260, ts=now)  # +250 in 10 minutes, still under 500
    feed.kiosk("k-steady", outbox_depth=310, ts=now)
    changes = _evaluate(fleet_db, ops_settings, now).changes
    assert [(c.kiosk_id, c.rule) for c in changes] == [("k-growing", "outbox_backlog")]
    assert "增加 250 条" in changes[0].detail


def test_offline_window_is_configurable(
    feed: Feeder, fleet_db: Engine, ops_settings: Settings
) -> None:
    now = datetime.now(UTC)
    feed.kiosk("k-quiet", ts=now - timedelta(seconds=20))
    assert _evaluate(fleet_db, ops_settings, now).changes == []
    short = ops_settings.model_copy(update={"alert_offline_after_s": 10})
    assert [c.rule for c in _evaluate(fleet_db, short, now).changes] == ["offline"]


def test_acknowledge_through_the_page_and_the_api(
    ops_client: TestClient, users: dict, feed: Feeder, fleet_db: Engine, ops_settings: Settings
) -> None:
    feed.kiosk("k110101-0001", paper="out")
    feed.kiosk("k110102-0001", paper="out")
    feed.place()
    _evaluate(fleet_db, ops_settings)
    alerts = _open(fleet_db)
    mine, other = alerts[("k110101-0001", "paper")], alerts[("k110102-0001", "paper")]
    login(ops_client, "tech1")
    page = ops_client.get("/ops/alerts")
    assert "打印机缺纸" in page.text and "k110102-0001" not in page.text
    csrf = CSRF.search(page.text).group(1)
    assert (
        ops_client.post(f"/ops/alerts/{other.id}/acknowledge", data={"csrf": csrf}).status_code
        == 403
    )
    done = ops_client.post(
        f"/ops/alerts/{mine.id}/acknowledge", data={"csrf": csrf}, follow_redirects=False
    )
    assert done.status_code == 303
    after = _open(fleet_db)[("k110101-0001", "paper")]
    assert after.state == "acknowledged" and after.acknowledged_by == "user:tech1"
    ops_client.cookies.clear()
    login(ops_client, "operator1")
    acked = ops_client.post(f"/api/v1/ops/alerts/{other.id}/acknowledge").json()
    assert acked["state"] == "acknowledged" and acked["acknowledged_by"] == "user:operator1"
    feed.kiosk("k110101-0001", paper="ok")
    _evaluate(fleet_db, ops_settings)
    history = ops_client.get("/api/v1/ops/alerts", params={"active": "false"}).json()
    assert [(a["kiosk_id"], a["state"], a["acknowledged_by"]) for a in history["items"]] == [
        ("k110101-0001", "resolved", "user:tech1")
    ]
    assert ops_client.post(f"/api/v1/ops/alerts/{mine.id}/acknowledge").status_code == 409


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def webhook() -> Iterator[str]:
    _Hook.received = []
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()


def test_the_worker_notifies_a_webhook_after_commit_and_samples_the_fleet(
    feed: Feeder, fleet_db: Engine, ops_settings: Settings, webhook: str
) -> None:
    feed.kiosk("k110101-0001", devices={"card_reader": {"state": "fault"}})
    feed.kiosk("k110101-0002")
    sessions = make_sessionmaker(fleet_db)
    run_once(sessions, ops_settings, WebhookNotifier(webhook))
    assert [(h["change"], h["kiosk_id"], h["rule"], h["title"]) for h in _Hook.received] == [
        ("opened", "k110101-0001", "card_reader", "读卡器故障")
    ]
    with Session(fleet_db) as session:
        (sample,) = session.scalars(select(FleetSample)).all()
        assert (sample.total, sample.online, sample.open_alerts) == (2, 2, 1)
        assert alerts_service.list_alerts(session)[0][0][1] == "110101"  # placed by the worker
    feed.kiosk("k110101-0001")
    run_once(sessions, ops_settings, WebhookNotifier(webhook))
    assert _Hook.received[-1]["change"] == "resolved"


def test_a_failing_webhook_does_not_stop_the_worker(
    feed: Feeder, fleet_db: Engine, ops_settings: Settings
) -> None:
    feed.kiosk("k-1", paper="out")
    dead = WebhookNotifier("http://127.0.0.1:9/nothing-listens-here", timeout_s=0.5)
    result = run_once(make_sessionmaker(fleet_db), ops_settings, dead)
    assert [c.rule for c in result.changes] == ["paper"]
    assert ("k-1", "paper") in _open(fleet_db)


def test_two_workers_racing_open_one_alert(
    feed: Feeder, fleet_db: Engine, fleet_db_url: str, ops_settings: Settings
) -> None:
    """Two serve processes evaluating at once: the partial unique index keeps one alert (PostgreSQL).

    (On SQLite the second writer's stale snapshot is refused as "locked" instead; its worker
    logs that once and evaluates again next period, so the outcome is the same.)
    """
    if not fleet_db_url.startswith("postgresql"):
        pytest.skip("concurrent writers: PostgreSQL")
    feed.kiosk("k-1", paper="out")
    first = Session(fleet_db)
    opened = alerts_service.evaluate(first, ops_settings, now=datetime.now(UTC))
    assert [c.change for c in opened.changes] == ["opened"]  # not committed yet
    result: list[alerts_service.Evaluation] = []

    def second() -> None:
        with Session(fleet_db) as session:
            result.append(alerts_service.evaluate(session, ops_settings, now=datetime.now(UTC)))
            session.commit()

    racer = threading.Thread(target=second)
    racer.start()
    racer.join(1.0)
    assert racer.is_alive()  # waiting on the first one's row in the unique index
    first.commit()
    first.close()
    racer.join(10)
    assert result and result[0].changes == []
    assert list(_open(fleet_db)) == [("k-1", "paper")]
