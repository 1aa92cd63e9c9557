"""The fleet page, the kiosk page, the charts' data and the region tree, over real data."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from backend.alerts.notify import LogNotifier
from backend.alerts.worker import run_once
from backend.core.config import Settings
from backend.core.db import make_sessionmaker
from backend.services import regions
from tests.backend.ops.conftest import Feeder, login


def _visit(feed: Feeder, kiosk: str, level: int, item: str, name: str, ts: datetime) -> None:
    s = str(uuid.uuid4())
    holder = "110105********002X"
    feed.send(
        feed.raw(
            kiosk,
            "session.started",
            {"session_id": s, "card_type": "resident_id", "holder": holder},
            ts=ts,
        ),
        feed.raw(
            kiosk,
            "application.submitted",
            {
                "session_id": s,
                "receipt_no": f"R-{s[:8]}",
                "item_code": item,
                "item_name": name,
                "applicant": holder,
                "citizen_id": s,  # the contract needs citizen_id or applicant_sealed
            },
            ts=ts,
        ),
        feed.raw(
            kiosk, "rating.submitted", {"session_id": s, "level": level, "item_code": item}, ts=ts
        ),
    )


def test_region_names_from_the_division_tables() -> None:
    assert regions.full_name("110102") == "北京市西城区"
    assert regions.full_name("110101001") == "北京市东城区东华门街道"
    assert regions.full_name(None) == "未定位"
    assert regions.known("110101001") and not regions.known("999999")
    assert regions.region_of_kiosk_id("k110102-0003") == "110102"
    assert regions.region_of_kiosk_id("demo-kiosk-01") is None


def test_fleet_page_tree_filters_and_charts(
    ops_client: TestClient, users: dict, feed: Feeder, fleet_db: Engine, ops_settings: Settings
) -> None:
    now = datetime.now(UTC)
    feed.kiosk("k110101-0001", paper="low")
    feed.kiosk("k110101-0002", online=False)
    feed.kiosk("k320102-0001", devices={"card_reader": {"state": "fault"}})  # 南京市玄武区
    feed.send(feed.raw("k320102-0001", "device.fault", {"device": "card_reader", "code": "fault"}))
    for i, level in enumerate((5, 4, 1)):
        _visit(feed, "k110101-0001", level, "IT-A", "社会保障卡补领", now - timedelta(hours=i))
    _visit(feed, "k320102-0001", 5, "IT-B", "居住证签注", now)
    run_once(make_sessionmaker(fleet_db), ops_settings, LogNotifier())
    login(ops_client, "operator1")

    page = ops_client.get("/ops/")
    assert page.status_code == 200
    for text in (
        "北京市",
        "江苏省",
        "东城区",
        "k110101-0001",
        "k320102-0001",
        "读卡器故障",
        "将尽",
        "echarts.min.js",
    ):
        assert text in page.text, text
    assert "cdn" not in page.text.lower() and "https://" not in page.text
    grid = page.text.split('id="region-grid"')[1].split("</div>")[0]
    assert 'data-region="11"' in grid and "1/2 在线" in grid and 'data-region="32"' in grid
    county_grid = ops_client.get("/ops/", params={"region": "1101"}).text.split('id="region-grid"')[
        1
    ]
    assert 'data-region="110101"' in county_grid.split("</div>")[0]
    jiangsu = ops_client.get("/ops/", params={"region": "32"})
    assert "k320102-0001" in jiangsu.text and "k110101-0001" not in jiangsu.text
    offline = ops_client.get("/ops/", params={"state": "offline"}).text.split('id="kiosks"')[1]
    assert "k110101-0002" in offline and "k110101-0001" not in offline
    assert ops_client.get("/ops/", params={"region": "x'); drop"}).status_code == 422

    overview = ops_client.get("/api/v1/ops/fleet").json()
    assert (overview["total"], overview["online"], overview["offline"]) == (3, 2, 1)
    beijing = next(c for c in overview["regions"]["children"] if c["code"] == "11")
    assert beijing["name"] == "北京市" and beijing["total"] == 2

    charts = ops_client.get("/api/v1/ops/fleet/charts").json()
    assert sum(h["sessions"] for h in charts["transactions"]) == 4
    assert charts["faults"] == [{"device": "card_reader", "code": "fault", "count": 1}]
    by_region = {
        r["region"]: (r["mean"], r["count"], r["bad"]) for r in charts["satisfaction_by_region"]
    }
    assert by_region == {"北京市东城区": (3.33, 3, 1), "江苏省南京市玄武区": (5.0, 1, 0)}
    by_item = {r["item"]: r["count"] for r in charts["satisfaction_by_item"]}
    assert by_item == {"社会保障卡补领": 3, "居住证签注": 1}
    assert charts["online_rate"][-1]["total"] == 3 and charts["online_rate"][-1]["online"] == 2
    assert ops_client.get("/ops/static/echarts.min.js").status_code == 200
    assert ops_client.get("/ops/static/ops.js").status_code == 200
    assert ops_client.get("/ops/static/../pages.py").status_code == 404


def test_kiosk_page_shows_health_events_alerts_and_commands(
    ops_client: TestClient, users: dict, feed: Feeder, fleet_db: Engine, ops_settings: Settings
) -> None:
    feed.kiosk("k110101-0001", paper="out")
    feed.send(feed.raw("k110101-0001", "device.fault", {"device": "printer", "code": "paper_out"}))
    run_once(make_sessionmaker(fleet_db), ops_settings, LogNotifier())
    login(ops_client, "tech1")
    page = ops_client.get("/ops/kiosks/k110101-0001")
    assert page.status_code == 200
    for text in (
        "北京市东城区",
        "健康记录",
        "缺纸",
        "设备故障",
        "打印机缺纸",
        "打印测试页",
        "远程指令",
    ):
        assert text in page.text, text
    assert ops_client.get("/ops/kiosks/k110101-9999").status_code == 403  # not placed: not theirs


def test_what_kiosks_send_is_escaped_on_pages(
    ops_client: TestClient, users: dict, feed: Feeder
) -> None:
    feed.kiosk("k110101-0001")
    body = {"session_id": str(uuid.uuid4()), "level": 1, "comment": "<script>alert(1)</script>差"}
    feed.send(feed.raw("k110101-0001", "rating.submitted", body))
    login(ops_client, "operator1")
    page = ops_client.get("/ops/kiosks/k110101-0001").text
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;差" in page  # escaped, Chinese readable
