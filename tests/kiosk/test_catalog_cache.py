"""The catalog cache: stored whole in the kiosk's SQLite file, searched locally."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kiosk.catalog_cache import DEMO_SNAPSHOT, Catalog, CatalogCache, pinyin_initials
from mqtt.outbox import open_kiosk_db


@pytest.fixture
def cache(tmp_path: Path) -> CatalogCache:
    return CatalogCache(open_kiosk_db(tmp_path / "kiosk.db"))


@pytest.fixture
def catalog() -> Catalog:
    return Catalog.of(json.loads(DEMO_SNAPSHOT.read_text(encoding="utf-8")))


def test_pinyin_initials_search_finds_identity_card_items(catalog: Catalog) -> None:
    names = [item.name for item in catalog.search("sfz")]
    assert names[:3] == ["居民身份证换领", "居民身份证补领", "临时居民身份证申领"]
    assert all("身份证" in name for name in names)
    assert catalog.search("SFZHL")[0].name == "居民身份证换领"
    assert catalog.search("qqqq") == []


def test_chinese_search_matches_names_and_departments(catalog: Catalog) -> None:
    names = [i.name for i in catalog.search("公积金")]
    assert len(names) == 4 and "租房提取住房公积金" in names
    by_department = catalog.search("公安局")
    assert by_department and all(i.department == "gaj" for i in by_department)
    assert catalog.search("") == []


def test_browse_by_department_and_life_event(catalog: Catalog) -> None:
    codes = [code for code, _ in catalog.departments]
    assert "gaj" in codes and catalog.department_name("gaj") == "北京市公安局西城分局"
    assert all(i.department == "gaj" for i in catalog.items_of_department("gaj"))
    birth = catalog.items_of_life_event("birth")
    assert len(birth) == 5 and any("出生医学证明" in i.name for i in birth)


def test_the_guide_is_read_from_the_backend_s_shape(catalog: Catalog) -> None:
    item = catalog.item("11110102000000000Q2001001000")
    assert item is not None and item.name == "居民身份证换领"
    assert (item.promised_days, item.fee, item.visits, item.kiosk_apply) == (20, "20元/证", 1, True)
    assert [(m.name, m.source) for m in item.materials] == [
        ("居民身份证", "card"),  # the card in the reader stands for it
        ("居民户口簿", "e_licence"),
        ("近期免冠彩色证件照片", "applicant"),
    ]


def test_a_fresh_kiosk_starts_from_the_shipped_snapshot_and_a_sync_replaces_it(
    cache: CatalogCache,
) -> None:
    assert cache.etag() is None
    assert cache.load().version == "demo-snapshot"
    body = {
        "version": "7",
        "departments": [{"code": "d1", "name": "测试局"}],
        "items": [{"code": "X1", "name": "身份证测试事项", "department": "d1", "materials": []}],
        "life_events": [],
        "sealing_public_key_pem": "PEM",
    }
    cache.store(body, '"etag-7"')
    loaded = cache.load()
    assert (loaded.version, cache.etag(), loaded.sealing_public_key_pem) == ("7", '"etag-7"', "PEM")
    assert [i.name for i in loaded.search("sfz")] == ["身份证测试事项"]  # initials computed here


def test_a_body_the_kiosk_cannot_read_never_replaces_a_good_copy(cache: CatalogCache) -> None:
    cache.store({"version": "1", "items": [{"code": "A", "name": "甲"}]}, '"1"')
    with pytest.raises((TypeError, AttributeError, ValueError)):
        cache.store({"version": "2", "items": "not a list of items"}, '"2"')
    assert cache.load().version == "1" and cache.etag() == '"1"'


def test_pinyin_initials() -> None:
    assert pinyin_initials("居民身份证换领") == "jmsfzhl"
    assert pinyin_initials("ABC 社保卡") == "abcsbk"
