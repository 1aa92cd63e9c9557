"""Fixtures of the ops centre's tests: an app on a real database, users, a logged-in browser.

``fleet_db_url`` is parametrized over SQLite and PostgreSQL (tests/backend/conftest.py).
Kiosks are filled through the real ingest pipeline (``feed``), never by hand.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from backend.api.main import create_app
from backend.core.config import Settings
from backend.core.db import make_sessionmaker
from backend.ingest.pipeline import Raw, store_batch
from backend.models import Kiosk
from backend.services import regions as regions_service
from backend.services import users as users_service
from mqtt.contract import Channel, encode, make_envelope, topic
from mqtt.contract.messages import HealthBody, StatusBody

PASSWORD = "correct-horse-battery"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def make_user(engine: Engine, username: str, role: str, regions: list[str] | None = None) -> None:
    with Session(engine) as session:
        users_service.create_user(
            session, username=username, password=PASSWORD, role=role, regions=regions or []
        )
        session.commit()


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in through the real form; returns the session's CSRF token (from a page)."""
    form = client.get("/ops/login")
    token = CSRF.search(form.text).group(1)
    response = client.post(
        "/ops/login",
        data={"username": username, "password": password, "csrf": token, "next": "/ops/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    page = client.get("/ops/")
    assert page.status_code == 200, page.text
    csrf = CSRF.search(page.text).group(1)
    client.headers["X-CSRF-Token"] = csrf  # for the session's POSTs to the API
    return csrf


def health(**overrides: Any) -> dict[str, Any]:
    body = HealthBody(
        devices={
            "card_reader": {"state": "ok"},
            "printer": {"state": "ok"},
            "camera": {"state": "ok"},
        },
        paper="ok",
        disk_free_bytes=50 * 10**9,
        disk_total_bytes=100 * 10**9,
        app_version="0.1.0",
        uptime_s=100,
        outbox_depth=0,
    ).model_dump(mode="json", exclude_none=True)
    body.update(overrides)
    return body


class Feeder:
    """Sends messages through the real ingest pipeline, as kiosks would."""

    def __init__(self, engine: Engine) -> None:
        self.sessions = make_sessionmaker(engine)

    def raw(
        self,
        kiosk: str,
        kind: str,
        body: Any,
        *,
        ts: datetime | None = None,
        seq: int | None = None,
    ) -> Raw:
        channel = {
            "status": Channel.STATUS,
            "health": Channel.HEALTH,
            "command.result": Channel.COMMANDS_ACK,
        }.get(kind, Channel.EVENTS)
        env = make_envelope(
            kiosk, kind, body, ts=ts or datetime.now(UTC), **({"seq": seq} if seq else {})
        )
        return Raw(topic(kiosk, channel), encode(env))

    def send(self, *raws: Raw) -> None:
        result = store_batch(self.sessions, list(raws))
        assert result.dead_letters == 0

    def kiosk(
        self,
        kiosk: str,
        *,
        online: bool = True,
        ts: datetime | None = None,
        **health_overrides: Any,
    ) -> None:
        """A kiosk's status and health, as if they arrived at ``ts`` (default now) from a
        kiosk whose clock is right: ingest stamps receipt with its own clock, so a past
        ``ts`` is written back as the time the backend last heard from the kiosk."""
        received = ts
        ts = ts or datetime.now(UTC)
        status = StatusBody(
            state="online" if online else "offline", connected_at=ts - timedelta(hours=1)
        )
        self.send(
            self.raw(kiosk, "status", status, ts=ts),
            self.raw(kiosk, "health", health(**health_overrides), ts=ts),
        )
        if received is not None:
            with self.sessions.begin() as session:
                row = session.get(Kiosk, kiosk)
                row.last_seen_at = received
                row.clock_skew_s = 0.0
                row.health = {**(row.health or {}), "clock_skew_s": 0.0}

    def place(self) -> None:
        with self.sessions.begin() as session:
            regions_service.sync_placements(session)


@pytest.fixture
def feed(fleet_db: Engine) -> Feeder:
    return Feeder(fleet_db)


@pytest.fixture
def ops_settings(fleet_db_url: str, tmp_path) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(database_url=fleet_db_url, ca_dir=tmp_path / "ca", alert_interval_s=0)


@pytest.fixture
def ops_client(ops_settings: Settings) -> Iterator[TestClient]:
    app = create_app(ops_settings)
    with TestClient(app, base_url="http://testserver") as client:
        yield client
    publisher = getattr(app.state, "publisher", None)
    if publisher is not None:
        publisher.close()


@pytest.fixture
def users(fleet_db: Engine) -> dict[str, str]:
    """admin, operator, and a technician for 东城区 (110101) only."""
    make_user(fleet_db, "admin1", "admin")
    make_user(fleet_db, "operator1", "operator")
    make_user(fleet_db, "tech1", "technician", ["110101"])
    return {"admin": "admin1", "operator": "operator1", "technician": "tech1"}
