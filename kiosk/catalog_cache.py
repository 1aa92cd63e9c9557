"""The service catalog as the kiosk keeps it: the last copy synced, for offline use and search.

The backend's ``GET /api/v1/kiosk/catalog`` answers the whole catalog (every
guide) with an ``ETag``; the kiosk stores the body in its SQLite file
(``catalog_cache`` table, one row) and searches it locally, so browsing and
searching never wait on the network and keep working when it is down. A
fresh kiosk that never synced starts from the demo snapshot shipped beside
this module (``demo_catalog.json``), which a first sync replaces.

Search: a Chinese substring of the name or the department, or pinyin
initials (``sfz`` finds 居民身份证换领, whose initials are ``jmsfzhl``); the
initials come with each item from the backend and are computed here with
pypinyin when missing.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import sqlite_utils
from pypinyin import Style, lazy_pinyin

logger = logging.getLogger(__name__)

DEMO_SNAPSHOT = Path(__file__).with_name("demo_catalog.json")

SCHEMA = """
CREATE TABLE IF NOT EXISTS catalog_cache (
    slot TEXT PRIMARY KEY,
    version TEXT NOT NULL,
    etag TEXT,
    body TEXT NOT NULL,
    fetched_at REAL NOT NULL
);
"""


def pinyin_initials(text: str) -> str:
    """Lower-case initials of the Chinese characters (and the letters/digits) of ``text``."""
    parts = lazy_pinyin(text, style=Style.FIRST_LETTER, errors=lambda s: list(s))
    return "".join(p for p in "".join(parts).lower() if p.isalnum())


def _first(data: dict[str, Any], *keys: str, default: Any = None) -> Any:
    for key in keys:
        value = data.get(key)
        if value not in (None, ""):
            return value
    return default


# The catalog's material sources (as the guides word them) in the kiosk's terms.
SOURCES = {"电子证照": "e_licence", "申请人自备": "applicant", "现场或网上填写": "form"}
# Licence types the card in the reader stands for (RIC: 居民身份证, SSC: 社会保障卡).
CARD_LICENCES = frozenset({"RIC", "SSC"})


@dataclass(frozen=True)
class Material:
    name: str
    required: bool = True
    source: str = "applicant"  # card | e_licence | applicant | other_department
    licence_type: str | None = None

    @classmethod
    def of(cls, data: dict[str, Any] | str) -> Material:
        if isinstance(data, str):
            return cls(name=data)
        licence_type = _first(data, "licence_type", "licence_kind")
        source = str(_first(data, "source", default="applicant"))
        source = SOURCES.get(source, source)
        if licence_type in CARD_LICENCES:
            source = "card"  # the card in the reader is this material
        return cls(
            name=str(_first(data, "name", "title", default="")),
            required=bool(data.get("required", True)),
            source=source,
            licence_type=licence_type,
        )


@dataclass(frozen=True)
class ServiceItem:
    """One 政务服务事项 with its 办事指南, as the screens need it."""

    code: str
    name: str
    department: str  # department code
    type: str | None
    promised_days: int | None
    fee: str | None
    location: str | None
    hours: str | None
    visits: int | None
    kiosk_apply: bool
    materials: tuple[Material, ...]
    initials: str
    raw: dict[str, Any] = field(compare=False, repr=False)

    @classmethod
    def of(cls, data: dict[str, Any]) -> ServiceItem:
        name = str(_first(data, "name", "title", default=""))
        department = _first(data, "department", "department_code", "dept", default="")
        if isinstance(department, dict):
            department = _first(department, "code", "name", default="")
        fee = _first(data, "fee", "fees")
        if isinstance(fee, dict):
            fee = _first(fee, "standard", "text", "amount") if fee.get("charged", True) else False
        if isinstance(fee, bool):
            fee = None if fee else "不收费"
        limit = data.get("time_limit")
        promised = _first(data, "promised_limit_days", "promised_days")
        if promised is None and isinstance(limit, dict):
            promised = _first(limit, "promised_days", "promised")
        visits = _first(data, "visits", "max_visits", "visit_count")
        return cls(
            code=str(_first(data, "code", "implementation_code", "id", default=name)),
            name=name,
            department=str(department),
            type=_first(data, "type", "item_type"),
            promised_days=None if promised is None else int(promised),
            fee=None if fee is None else str(fee),
            location=_first(data, "location", "where", "address"),
            hours=_first(data, "hours", "office_hours", "when"),
            visits=None if visits is None else int(visits),
            kiosk_apply=bool(_first(data, "kiosk_apply", "online", default=True)),
            materials=tuple(Material.of(m) for m in data.get("materials") or ()),
            initials=str(data.get("pinyin_initials") or pinyin_initials(name)).lower(),
            raw=data,
        )


@dataclass(frozen=True)
class Catalog:
    version: str
    departments: tuple[tuple[str, str], ...]  # (code, name)
    life_events: tuple[tuple[str, str, tuple[str, ...]], ...]  # (code, name, item codes)
    items: tuple[ServiceItem, ...]
    sealing_public_key_pem: str | None = None

    @classmethod
    def of(cls, body: dict[str, Any]) -> Catalog:
        departments = tuple(
            (str(_first(d, "code", "id", default=d.get("name"))), str(d.get("name", "")))
            for d in body.get("departments") or ()
        )
        events = []
        for event in body.get("life_events") or ():
            codes = event.get("items") or event.get("item_codes") or ()
            codes = tuple(str(c["code"]) if isinstance(c, dict) else str(c) for c in codes)
            events.append(
                (
                    str(_first(event, "code", "id", default=event.get("name"))),
                    str(event.get("name", "")),
                    codes,
                )
            )
        return cls(
            version=str(body.get("version", "")),
            departments=departments,
            life_events=tuple(events),
            items=tuple(ServiceItem.of(i) for i in body.get("items") or ()),
            sealing_public_key_pem=body.get("sealing_public_key_pem"),
        )

    @cached_property
    def _by_code(self) -> dict[str, ServiceItem]:
        return {item.code: item for item in self.items}

    def item(self, code: str) -> ServiceItem | None:
        return self._by_code.get(code)

    def department_name(self, code: str) -> str:
        return dict(self.departments).get(code, code)

    def items_of_department(self, code: str) -> list[ServiceItem]:
        return [i for i in self.items if i.department == code]

    def items_of_life_event(self, code: str) -> list[ServiceItem]:
        for event_code, _, codes in self.life_events:
            if event_code == code:
                return [self._by_code[c] for c in codes if c in self._by_code]
        return []

    def search(self, query: str) -> list[ServiceItem]:
        """Items whose name or department contains ``query`` (Chinese), or whose pinyin
        initials contain it (``sfz``); initials matches at the start come first."""
        query = query.strip()
        if not query:
            return []
        if query.isascii():
            needle = query.lower()
            hits = [i for i in self.items if needle in i.initials]
            return sorted(
                hits, key=lambda i: (not i.initials.startswith(needle), i.initials.index(needle))
            )
        return [
            i for i in self.items if query in i.name or query in self.department_name(i.department)
        ]


class CatalogCache:
    """The ``catalog_cache`` table of the kiosk's SQLite file."""

    SLOT = "current"

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        db.conn.executescript(SCHEMA)

    def store(self, body: dict[str, Any], etag: str | None, *, now: float | None = None) -> Catalog:
        catalog = Catalog.of(body)  # refuse a body we could not use before replacing a good one
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO catalog_cache (slot, version, etag, body, fetched_at) VALUES (?,?,?,?,?) "
                "ON CONFLICT(slot) DO UPDATE SET version=excluded.version, etag=excluded.etag, "
                "body=excluded.body, fetched_at=excluded.fetched_at",
                (
                    self.SLOT,
                    catalog.version,
                    etag,
                    json.dumps(body, ensure_ascii=False),
                    now or time.time(),
                ),
            )
        return catalog

    def etag(self) -> str | None:
        row = self.db.execute(
            "SELECT etag FROM catalog_cache WHERE slot = ?", (self.SLOT,)
        ).fetchone()
        return row[0] if row else None

    def fetched_at(self) -> float | None:
        row = self.db.execute(
            "SELECT fetched_at FROM catalog_cache WHERE slot = ?", (self.SLOT,)
        ).fetchone()
        return row[0] if row else None

    def load(self) -> Catalog:
        """The cached catalog, or the shipped demo snapshot when nothing was ever synced."""
        row = self.db.execute(
            "SELECT body FROM catalog_cache WHERE slot = ?", (self.SLOT,)
        ).fetchone()
        if row is None:
            return Catalog.of(json.loads(DEMO_SNAPSHOT.read_text(encoding="utf-8")))
        return Catalog.of(json.loads(row[0]))
