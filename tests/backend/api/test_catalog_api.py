"""The public catalog and the kiosk's catalog sync, over the demo data."""

from __future__ import annotations

from backend.services import catalog as catalog_service
from tests.backend.gov_fixtures import SSC_REISSUE, Gov, gov

__all__ = ["gov"]


def test_departments_items_and_the_whole_guide(gov: Gov) -> None:
    departments = gov.client.get("/api/v1/catalog/departments").json()
    assert len(departments) >= 8
    page = gov.client.get("/api/v1/catalog/items", params={"limit": 100}).json()
    assert len(page["items"]) >= 40 and page["next_cursor"] is None
    assert len({i["department"] for i in page["items"]}) >= 8
    guide = gov.client.get(f"/api/v1/catalog/items/{SSC_REISSUE}").json()
    assert guide["name"] == "社会保障卡补领"
    for field in (
        "legal_basis",
        "materials",
        "legal_limit_days",
        "promised_limit_days",
        "fee",
        "online",
        "visits",
        "location",
        "hours",
        "department_name",
        "pinyin_initials",
    ):
        assert field in guide
    assert guide["pinyin_initials"] == "shbzkbl"
    missing = gov.client.get("/api/v1/catalog/items/NOPE123")
    assert missing.status_code == 404 and "NOPE123" in missing.json()["detail"]


def test_search_by_chinese_text_and_pinyin_initials(gov: Gov) -> None:
    def names(**params: object) -> list[str]:
        response = gov.client.get("/api/v1/catalog/items", params=params)
        assert response.status_code == 200, response.text
        return [i["name"] for i in response.json()["items"]]

    assert "居民身份证补领" in names(q="身份证")  # trigram FTS (3 characters)
    assert names(q="身份证") == names(q="sfz")  # pinyin initials find the same items
    assert "社会保障卡补领" in names(q="社保")  # 2 characters: the LIKE fallback, via keywords
    assert names(q="公积金 提取") == ["租房提取住房公积金", "离退休提取住房公积金"]
    assert names(q="没有这个事项") == []
    assert set(names(department="gjj")) == {
        n for n in names(q="公积金", limit=100) if "公积金" in n
    }


def test_pagination_by_cursor_covers_everything_once(gov: Gov) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 7, **({"cursor": cursor} if cursor else {})}
        page = gov.client.get("/api/v1/catalog/items", params=params).json()
        seen += [i["code"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) >= 40
    bad = gov.client.get("/api/v1/catalog/items", params={"cursor": "garbage"})
    assert bad.status_code == 400


def test_life_events_merge_their_materials(gov: Gov) -> None:
    events = gov.client.get("/api/v1/catalog/life-events").json()
    assert len(events) >= 5
    birth = gov.client.get("/api/v1/catalog/life-events/birth").json()
    assert birth["name"] == "出生一件事" and len(birth["items"]) >= 4
    names = [m["name"] for m in birth["materials"]]
    assert len(names) == len(set(names))  # each material once
    birth_certificate = next(m for m in birth["materials"] if m.get("licence_type") == "BIRTH")
    assert len(birth_certificate["for_items"]) >= 2  # asked by several items, listed once
    in_event = gov.client.get("/api/v1/catalog/items", params={"life_event": "birth"}).json()
    assert {i["code"] for i in in_event["items"]} == {i["code"] for i in birth["items"]}
    assert gov.client.get("/api/v1/catalog/life-events/nope").status_code == 404


def test_kiosk_sync_answers_304_until_the_catalog_changes(gov: Gov) -> None:
    auth = gov.kiosk()
    assert gov.client.get("/api/v1/kiosk/catalog").status_code == 401  # kiosks only
    first = gov.client.get("/api/v1/kiosk/catalog", auth=auth)
    assert first.status_code == 200, first.text
    body = first.json()
    etag = first.headers["ETag"]
    assert body["version"] == 1 and len(body["items"]) >= 40
    assert all(i["pinyin_initials"] for i in body["items"])
    assert body["sealing_public_key_pem"].startswith("-----BEGIN PUBLIC KEY-----")
    same = gov.client.get("/api/v1/kiosk/catalog", auth=auth, headers={"If-None-Match": etag})
    assert same.status_code == 304 and same.content == b""
    # The catalog changes: a new version, a new ETag, a full answer again.
    import json

    from tests.backend.gov_fixtures import DATA

    items = json.loads((DATA / "catalog" / "items.json").read_text("utf-8"))
    items[0]["hours"] = "周一至周六 9:00-17:00"
    with gov.sessions().begin() as session:
        result = catalog_service.load(
            session,
            departments=json.loads((DATA / "catalog" / "departments.json").read_text("utf-8")),
            items=items,
            life_events=json.loads((DATA / "catalog" / "life_events.json").read_text("utf-8")),
        )
    assert result.changed and result.version == 2
    changed = gov.client.get("/api/v1/kiosk/catalog", auth=auth, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert changed.json()["version"] == 2
    assert changed.json()["items"][0]["hours"] == "周一至周六 9:00-17:00"
