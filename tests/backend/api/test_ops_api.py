"""The ops API over a real database filled by the real ingest pipeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from backend.core.db import make_sessionmaker
from backend.ingest.pipeline import Raw, store_batch
from backend.services import tokens
from mqtt.contract import Channel, encode, make_envelope, topic
from mqtt.contract.messages import HealthBody, StatusBody

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.fixture
def api(api: TestClient, fleet_db: Engine) -> TestClient:
    """The ops API and pages need a role: an admin's token (API) and log-in cookie (pages)."""
    from tests.backend.ops.conftest import login, make_user

    with Session(fleet_db) as session:
        token = tokens.create_token(session, role="admin", name="tests")
        session.commit()
    make_user(fleet_db, "admin1", "admin")
    login(api, "admin1")
    api.headers["Authorization"] = f"Bearer {token}"
    return api


def test_the_ops_api_refuses_callers_without_a_role(api: TestClient) -> None:
    anonymous = {"Authorization": ""}
    for path in ("/api/v1/ops/kiosks", "/api/v1/ops/events", "/api/v1/ops/dead-letters"):
        api.cookies.clear()
        assert api.get(path, headers=anonymous).status_code == 401


@pytest.fixture
def filled(fleet_db: Engine) -> list[str]:
    """Two kiosks: k-001 online with 30 events and a health snapshot, k-002 offline with 5."""
    batch: list[Raw] = []
    ids: list[str] = []
    for kiosk, count in (("k-001", 30), ("k-002", 5)):
        for i in range(count):
            kind, body = (
                ("device.fault", {"device": "printer", "code": f"c{i}"})
                if i % 2
                else ("device.recovered", {"device": "printer"})
            )
            env = make_envelope(kiosk, kind, body, ts=T0 + timedelta(minutes=i), seq=i + 1)
            ids.append(str(env.id))
            batch.append(Raw(topic(kiosk, Channel.EVENTS), encode(env)))
        state = "online" if kiosk == "k-001" else "offline"
        status = StatusBody(state=state, connected_at=T0)
        batch.append(
            Raw(topic(kiosk, Channel.STATUS), encode(make_envelope(kiosk, "status", status)))
        )
    health = HealthBody(
        disk_free_bytes=10**9,
        disk_total_bytes=10**10,
        app_version="0.1.0",
        uptime_s=5,
        outbox_depth=3,
    )
    batch.append(
        Raw(topic("k-001", Channel.HEALTH), encode(make_envelope("k-001", "health", health)))
    )
    batch.append(Raw("kiosk/k-001/events", b'{"v":1,"id":"bad","note":"11010519491231002X"}'))
    store_batch(make_sessionmaker(fleet_db), batch)
    return ids


def test_healthz(api: TestClient) -> None:
    assert api.get("/healthz").json() == {"status": "ok", "database": "ok"}


def test_kiosks(api: TestClient, filled: list[str]) -> None:
    page = api.get("/api/v1/ops/kiosks").json()
    assert page["total"] == 2
    assert [(k["id"], k["online"]) for k in page["items"]] == [("k-001", True), ("k-002", False)]
    assert api.get("/api/v1/ops/kiosks", params={"online": "false"}).json()["total"] == 1
    detail = api.get("/api/v1/ops/kiosks/k-001").json()
    assert detail["outbox_depth"] == 3
    assert detail["event_count"] == 30
    assert detail["health"]["app_version"] == "0.1.0"


def test_unknown_and_invalid_kiosks(api: TestClient, filled: list[str]) -> None:
    assert api.get("/api/v1/ops/kiosks/k-999").status_code == 404
    assert api.get("/api/v1/ops/kiosks/NOT_VALID").status_code == 422


def test_events_filtered_and_paginated(api: TestClient, filled: list[str]) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        params = {"kiosk": "k-001", "limit": 7} | ({"cursor": cursor} if cursor else {})
        page = api.get("/api/v1/ops/events", params=params).json()
        seen.extend(e["id"] for e in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 30 and len(set(seen)) == 30
    assert seen == list(reversed(filled[:30]))  # newest first

    faults = api.get("/api/v1/ops/events", params={"kind": "device.fault", "kiosk": "k-001"}).json()
    assert len(faults["items"]) == 15
    window = api.get(
        "/api/v1/ops/events",
        params={
            "since": (T0 + timedelta(minutes=10)).isoformat(),
            "until": (T0 + timedelta(minutes=20)).isoformat(),
        },
    ).json()
    assert len(window["items"]) == 10  # k-001 minutes 10..19; k-002 only has minutes 0..4


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 100_000},
        {"limit": "many"},
        {"since": "yesterday"},
        {"kind": "no.such.kind"},
        {"kiosk": "BAD KIOSK"},
        {"since": "2026-11-23T10:00:00Z", "until": "2026-11-23T09:00:00Z"},
        {"cursor": "garbage!!"},
        {"cursor": "WzFd"},  # valid base64 and JSON, wrong shape
    ],
)
def test_bad_query_parameters_are_a_clear_4xx(
    api: TestClient, filled: list[str], params: dict
) -> None:
    response = api.get("/api/v1/ops/events", params=params)
    assert 400 <= response.status_code < 500
    assert response.json()["detail"]


def test_dead_letters_mask_identity_numbers(api: TestClient, filled: list[str]) -> None:
    page = api.get("/api/v1/ops/dead-letters").json()
    (item,) = page["items"]
    assert item["reason_code"] == "bad_envelope"
    assert "110105********002X" in item["payload_preview"]
    assert "11010519491231002X" not in item["payload_preview"]
    assert api.get("/api/v1/ops/dead-letters", params={"cursor": "WyJ4Il0"}).status_code == 400


def test_openapi_lists_the_ops_endpoints(api: TestClient) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    assert {
        "/healthz",
        "/api/v1/ops/kiosks",
        "/api/v1/ops/kiosks/{kiosk_id}",
        "/api/v1/ops/events",
        "/api/v1/ops/dead-letters",
    } <= set(paths)


def test_ops_pages_render_in_chinese(api: TestClient, filled: list[str]) -> None:
    fleet = api.get("/ops/")
    assert fleet.status_code == 200
    assert "运维中心" in fleet.text and "k-001" in fleet.text and "在线" in fleet.text
    kiosk = api.get("/ops/kiosks/k-001")
    assert kiosk.status_code == 200 and "设备故障" in kiosk.text
    assert api.get("/ops/kiosks/k-404").status_code == 404


def test_api_docs_are_served_without_a_cdn(api: TestClient) -> None:
    page = api.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower()
    assert "https://" not in page.text
    assert api.get("/static/swagger/swagger-ui-bundle.js").status_code == 200
    assert api.get("/static/swagger/swagger-ui.css").status_code == 200


def test_health_history_of_a_kiosk(api: TestClient, filled: list[str]) -> None:
    history = api.get("/api/v1/ops/kiosks/k-001/health").json()
    assert len(history) == 1 and history[0]["body"]["outbox_depth"] == 3
    assert api.get("/api/v1/ops/kiosks/k-002/health").json() == []
    assert api.get("/api/v1/ops/kiosks/k-404/health").status_code == 404
    assert api.get("/api/v1/ops/kiosks/k-001/health", params={"limit": 0}).status_code == 422
