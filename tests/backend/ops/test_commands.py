"""Remote commands: recorded and audited, published with an MQTT 5 expiry, followed to their result."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import paho.mqtt.client as paho
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from backend.core.config import Settings
from backend.models import RemoteCommand
from backend.models.base import utcnow
from backend.services import audit
from mqtt.broker import LocalBroker, free_port
from mqtt.client import new_client
from tests.backend.ops.conftest import CSRF, Feeder, login
from tests.conftest import wait_for


class Listener:
    """A kiosk's side of the broker: what arrives on kiosk/+/commands, with its properties."""

    def __init__(self, broker: LocalBroker) -> None:
        self.messages: list[tuple[str, dict, int | None]] = []
        self.ready = threading.Event()
        self.client = new_client("test-kiosk-listener")
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: self.ready.set()
        self.client.on_connect = lambda c, *a: c.subscribe("kiosk/+/commands", qos=1)
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        assert self.ready.wait(10)

    def _on_message(self, client: paho.Client, userdata: object, msg: paho.MQTTMessage) -> None:
        expiry = getattr(msg.properties, "MessageExpiryInterval", None)
        self.messages.append((msg.topic, json.loads(msg.payload), expiry))

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def with_broker(ops_settings: Settings, broker: LocalBroker) -> Settings:
    return ops_settings.model_copy(update={"mqtt_url": broker.url})


@pytest.fixture
def broker_client(with_broker: Settings):  # type: ignore[no-untyped-def]
    from backend.api.main import create_app

    app = create_app(with_broker)
    with TestClient(app) as client:
        yield client
    if getattr(app.state, "publisher", None):
        app.state.publisher.close()


def test_a_command_is_published_with_an_expiry_and_followed_to_done(
    broker: LocalBroker, broker_client: TestClient, users: dict, feed: Feeder, fleet_db: Engine
) -> None:
    feed.kiosk("k110101-0001")
    feed.place()
    listener = Listener(broker)
    try:
        csrf = login(broker_client, "operator1")
        sent = broker_client.post(
            "/ops/kiosks/k110101-0001/commands",
            data={"name": "print_test_page", "csrf": csrf},
            follow_redirects=False,
        )
        assert sent.status_code == 303
        assert wait_for(lambda: listener.messages, 10)
    finally:
        listener.close()
    ((topic, envelope, expiry),) = listener.messages
    assert topic == "kiosk/k110101-0001/commands"
    assert envelope["kind"] == "command" and envelope["body"]["name"] == "print_test_page"
    assert 295 <= expiry <= 300  # MQTT 5 Message Expiry Interval: FLEET_COMMAND_TTL_S
    command_id = envelope["id"]
    api = broker_client.get(f"/api/v1/ops/commands/{command_id}").json()
    assert api["state"] == "sent" and api["created_by"] == "user:operator1"
    page = broker_client.get("/ops/kiosks/k110101-0001")
    assert "已发送" in page.text and "打印测试页" in page.text

    feed.send(
        feed.raw(
            "k110101-0001",
            "command.result",
            {"command_id": command_id, "outcome": "done", "detail": "测试页已打印"},
        )
    )
    assert broker_client.get(f"/api/v1/ops/commands/{command_id}").json()["state"] == "done"
    page = broker_client.get("/ops/kiosks/k110101-0001")
    assert "已完成" in page.text and "测试页已打印" in page.text
    with Session(fleet_db) as session:
        entries = audit.recent(session, limit=10)
    assert any(
        e.action == "command.send" and e.target == "k110101-0001" and e.actor == "user:operator1"
        for e in entries
    )


def test_no_result_before_the_timeout_is_timed_out(
    broker_client: TestClient, users: dict, feed: Feeder, fleet_db: Engine
) -> None:
    feed.kiosk("k110101-0001")
    feed.place()
    login(broker_client, "operator1")
    sent = broker_client.post(
        "/api/v1/ops/kiosks/k110101-0001/commands",
        json={"name": "collect_diagnostics", "ttl_s": 30},
    ).json()
    assert sent["state"] == "sent"
    with Session(fleet_db) as session:
        session.execute(update(RemoteCommand).values(timeout_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    listed = broker_client.get("/api/v1/ops/kiosks/k110101-0001/commands").json()
    assert [c["state"] for c in listed] == ["timed_out"]


def test_a_result_from_another_kiosk_does_not_count(
    broker_client: TestClient, users: dict, feed: Feeder
) -> None:
    feed.kiosk("k110101-0001")
    feed.kiosk("k110101-0002")
    login(broker_client, "operator1")
    sent = broker_client.post(
        "/api/v1/ops/kiosks/k110101-0001/commands", json={"name": "lock"}
    ).json()
    feed.send(
        feed.raw("k110101-0002", "command.result", {"command_id": sent["id"], "outcome": "done"})
    )
    assert broker_client.get(f"/api/v1/ops/commands/{sent['id']}").json()["state"] == "sent"


def test_bad_commands_are_refused_clearly(
    broker_client: TestClient, users: dict, feed: Feeder
) -> None:
    feed.kiosk("k110101-0001")
    login(broker_client, "operator1")
    unknown = broker_client.post(
        "/api/v1/ops/kiosks/k110101-0001/commands", json={"name": "format_disk"}
    )
    assert unknown.status_code == 422 and "unknown command" in unknown.json()["detail"]
    bad_args = broker_client.post(
        "/api/v1/ops/kiosks/k110101-0001/commands", json={"name": "lock", "args": {"k" * 100: 1}}
    )
    assert bad_args.status_code == 422 and "arguments" in bad_args.json()["detail"]
    assert (
        broker_client.post(
            "/api/v1/ops/kiosks/k110101-0404/commands", json={"name": "lock"}
        ).status_code
        == 404
    )
    assert (
        broker_client.post(
            "/api/v1/ops/kiosks/k110101-0001/commands", json={"name": "lock", "ttl_s": 1}
        ).status_code
        == 422
    )


def test_a_broker_that_is_down_makes_the_command_failed(
    ops_settings: Settings, users: dict, feed: Feeder
) -> None:
    from backend.api.main import create_app

    app = create_app(
        ops_settings.model_copy(update={"mqtt_url": f"mqtt://127.0.0.1:{free_port()}"})
    )
    feed.kiosk("k110101-0001")
    with TestClient(app) as client:
        login(client, "operator1")
        sent = client.post(
            "/api/v1/ops/kiosks/k110101-0001/commands", json={"name": "unlock"}
        ).json()
        assert sent["state"] == "failed" and "not reachable" in sent["detail"]
        page = client.get("/ops/kiosks/k110101-0001")
        assert "失败" in page.text and CSRF.search(page.text)
    app.state.publisher.close()
