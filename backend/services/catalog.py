"""The service catalog: loading it (versioned), searching it, and the kiosk's snapshot.

Search is one function for both databases, chosen by dialect: SQLite uses an
FTS5 table with the trigram tokenizer (``gov_search_fts``, which this module
keeps in step with the items), PostgreSQL uses ILIKE on the same search text
(trigram GIN indexes from pg_trgm make it fast). A trigram index cannot
answer a term shorter than three characters, so such terms (``社保``) use
LIKE on both. A query of Latin letters also matches the pinyin initials of
the item's name (``sfz`` finds 居民身份证...), computed with pypinyin at load
time and shipped to kiosks for their offline search.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from pypinyin import Style, lazy_pinyin
from sqlalchemy import and_, column, delete, or_, select, table, text, tuple_
from sqlalchemy.orm import Session

from backend.models import CatalogMeta, Department, LifeEvent, LifeEventItem, ServiceItem
from backend.models.base import utcnow
from backend.services.pagination import decode_cursor, encode_cursor

ITEM_TYPES = {
    "01": "行政许可",
    "02": "行政处罚",
    "03": "行政强制",
    "04": "行政征收",
    "05": "行政给付",
    "06": "行政检查",
    "07": "行政确认",
    "08": "行政奖励",
    "09": "行政裁决",
    "10": "其他行政权力",
    "20": "公共服务",
}


class CatalogDataError(ValueError):
    """The catalog files contradict themselves (an unknown department or item, a bad field)."""


def pinyin_initials(value: str) -> str:
    """``居民身份证补领`` -> ``jmsfzbl``: first letters of the Chinese characters, digits kept."""
    letters = lazy_pinyin(value, style=Style.FIRST_LETTER, errors=lambda chars: list(chars))
    return re.sub(r"[^a-z0-9]", "", "".join(letters).lower())


# --- loading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadResult:
    version: int
    changed: bool
    departments: int
    items: int
    life_events: int


def _digest(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _search_text(item: dict[str, Any], department_name: str) -> str:
    """Name, department and keywords (not the materials: 身份证 would find half the catalog)."""
    return " ".join([item["name"], department_name, *item.get("keywords", [])])


def load(
    session: Session,
    *,
    departments: list[dict[str, Any]],
    items: list[dict[str, Any]],
    life_events: list[dict[str, Any]],
) -> LoadResult:
    """Upsert the catalog; the version goes up only when the content changed. Idempotent."""
    digest = _digest({"d": departments, "i": items, "l": life_events})
    meta = session.get(CatalogMeta, 1)
    counts = (len(departments), len(items), len(life_events))
    if meta is not None and meta.digest == digest:
        return LoadResult(meta.version, False, *counts)
    now = utcnow()
    names: dict[str, str] = {}
    for position, d in enumerate(departments):
        names[d["code"]] = d["name"]
        session.merge(
            Department(
                code=d["code"],
                name=d["name"],
                credit_code=d["credit_code"],
                level=d["level"],
                region_code=d["region_code"],
                phone=d.get("phone"),
                address=d.get("address"),
                position=position,
            )
        )
    known_departments = set(names) | set(session.scalars(select(Department.code)))
    codes: set[str] = set()
    for position, i in enumerate(items):
        if i["department"] not in known_departments:
            raise CatalogDataError(f"item {i['code']}: unknown department {i['department']!r}")
        if i["type"] not in ITEM_TYPES:
            raise CatalogDataError(f"item {i['code']}: unknown item type {i['type']!r}")
        codes.add(i["code"])
        department_name = (
            names.get(i["department"]) or session.get(Department, i["department"]).name
        )  # type: ignore[union-attr]
        session.merge(
            ServiceItem(
                code=i["code"],
                basic_code=i["basic_code"],
                name=i["name"],
                item_type=i["type"],
                department_code=i["department"],
                region_code=i["region_code"],
                level=i["level"],
                legal_basis=i["legal_basis"],
                conditions=i["conditions"],
                materials=i["materials"],
                legal_limit_days=i["legal_limit_days"],
                promised_limit_days=i["promised_limit_days"],
                limit_unit=i.get("limit_unit", "working"),
                fee=i["fee"],
                online=i["online"],
                visits=i["visits"],
                location=i["location"],
                hours=i["hours"],
                flow=i["flow"],
                contact=i["contact"],
                complaint=i["complaint"],
                instant_approval=i.get("instant_approval", False),
                result_licence_type=i.get("result_licence_type"),
                pinyin_initials=pinyin_initials(i["name"]),
                search_text=_search_text(i, department_name),
                position=position,
                updated_at=now,
            )
        )
    session.flush()
    known_items = codes | set(session.scalars(select(ServiceItem.code)))
    for position, e in enumerate(life_events):
        missing = [c for c in e["items"] if c not in known_items]
        if missing:
            raise CatalogDataError(f"life event {e['code']}: unknown items {missing}")
        session.merge(
            LifeEvent(
                code=e["code"],
                name=e["name"],
                description=e["description"],
                pinyin_initials=pinyin_initials(e["name"]),
                position=position,
            )
        )
        session.flush()
        session.execute(delete(LifeEventItem).where(LifeEventItem.life_event_code == e["code"]))
        for n, code in enumerate(e["items"]):
            session.add(LifeEventItem(life_event_code=e["code"], item_code=code, position=n))
    session.flush()
    _reindex(session)
    version = 1 if meta is None else meta.version + 1
    if meta is None:
        session.add(CatalogMeta(id=1, version=version, digest=digest, updated_at=now))
    else:
        meta.version, meta.digest, meta.updated_at = version, digest, now
    session.flush()
    return LoadResult(version, True, *counts)


def _reindex(session: Session) -> None:
    """Rebuild the SQLite FTS5 index from the items (PostgreSQL's indexes follow by themselves)."""
    if session.get_bind().dialect.name != "sqlite":
        return
    session.execute(text("DELETE FROM gov_search_fts WHERE kind = 'item'"))
    rows = session.execute(select(ServiceItem.code, ServiceItem.search_text)).all()
    if rows:
        session.execute(
            text("INSERT INTO gov_search_fts (code, kind, text) VALUES (:code, 'item', :text)"),
            [{"code": c, "text": t} for c, t in rows],
        )


def version(session: Session) -> tuple[int, str]:
    meta = session.get(CatalogMeta, 1)
    return (0, "") if meta is None else (meta.version, meta.digest)


# --- search ------------------------------------------------------------------------------------


def _like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def text_condition(
    session: Session, code_column: Any, search_column: Any, kind: str, q: str
) -> Any:
    """One WHERE clause matching every whitespace-separated term of ``q``.

    ``code_column`` is the key that ``gov_search_fts`` rows carry for ``kind``
    (SQLite); ``search_column`` the text the LIKE/ILIKE forms search.
    """
    dialect = session.get_bind().dialect.name
    conditions = []
    for term in q.split():
        if dialect == "sqlite" and len(term) >= 3:
            phrase = '"' + term.replace('"', '""') + '"'
            conditions.append(
                code_column.in_(
                    select(column("code"))
                    .select_from(table("gov_search_fts"))
                    .where(column("text").op("MATCH")(phrase), column("kind") == kind)
                )
            )
        elif dialect == "postgresql":
            conditions.append(search_column.ilike(_like_pattern(term), escape="\\"))
        else:
            conditions.append(search_column.like(_like_pattern(term), escape="\\"))
    return and_(*conditions)


_INITIALS = re.compile(r"[A-Za-z]{1,20}")


def search_items(
    session: Session,
    *,
    q: str | None = None,
    department: str | None = None,
    life_event: str | None = None,
    limit: int = 20,
    cursor: str | None = None,
) -> tuple[list[ServiceItem], str | None]:
    query = select(ServiceItem)
    if q and q.strip():
        q = q.strip()
        match = text_condition(session, ServiceItem.code, ServiceItem.search_text, "item", q)
        if _INITIALS.fullmatch(q):
            match = or_(
                match, ServiceItem.pinyin_initials.like(_like_pattern(q.lower()), escape="\\")
            )
        query = query.where(match)
    if department:
        query = query.where(ServiceItem.department_code == department)
    if life_event:
        query = query.where(
            ServiceItem.code.in_(
                select(LifeEventItem.item_code).where(LifeEventItem.life_event_code == life_event)
            )
        )
    if cursor:
        position, code = decode_cursor(cursor, int, str)
        query = query.where(tuple_(ServiceItem.position, ServiceItem.code) > (position, code))
    rows = list(
        session.scalars(query.order_by(ServiceItem.position, ServiceItem.code).limit(limit + 1))
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].position, rows[-1].code)
    return rows, next_cursor


# --- reading -----------------------------------------------------------------------------------


def departments(session: Session) -> list[Department]:
    return list(session.scalars(select(Department).order_by(Department.position)))


def get_item(session: Session, code: str) -> ServiceItem | None:
    return session.get(ServiceItem, code)


def life_events(session: Session) -> list[LifeEvent]:
    return list(session.scalars(select(LifeEvent).order_by(LifeEvent.position)))


def get_life_event(session: Session, code: str) -> LifeEvent | None:
    return session.get(LifeEvent, code)


def life_event_items(session: Session, code: str) -> list[ServiceItem]:
    return list(
        session.scalars(
            select(ServiceItem)
            .join(LifeEventItem, LifeEventItem.item_code == ServiceItem.code)
            .where(LifeEventItem.life_event_code == code)
            .order_by(LifeEventItem.position)
        )
    )


def life_event_item_codes(session: Session) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for event_code, item_code in session.execute(
        select(LifeEventItem.life_event_code, LifeEventItem.item_code).order_by(
            LifeEventItem.life_event_code, LifeEventItem.position
        )
    ):
        out.setdefault(event_code, []).append(item_code)
    return out


def merged_materials(items: list[ServiceItem]) -> list[dict[str, Any]]:
    """One list for a life event: each material once, with the items that ask for it.

    Materials are the same when they name the same e-licence type, or else the
    same name; a material required by any item is required.
    """
    merged: dict[str, dict[str, Any]] = {}
    for item in items:
        for material in item.materials:
            key = material.get("licence_type") or material["name"]
            entry = merged.get(key)
            if entry is None:
                entry = merged[key] = {
                    **material,
                    "required": bool(material.get("required", True)),
                    "for_items": [],
                }
            else:
                entry["required"] = entry["required"] or bool(material.get("required", True))
                entry["copies"] = max(entry.get("copies", 1), material.get("copies", 1))
            entry["for_items"].append(item.code)
    return list(merged.values())


def department_names(session: Session) -> dict[str, str]:
    return dict(session.execute(select(Department.code, Department.name)).all())


def item_guide(item: ServiceItem, department_name: str) -> dict[str, Any]:
    """The whole 办事指南 of one item, as the API and the kiosk snapshot give it."""
    return {
        "code": item.code,
        "basic_code": item.basic_code,
        "name": item.name,
        "type": item.item_type,
        "type_name": ITEM_TYPES.get(item.item_type, ""),
        "department": item.department_code,
        "department_name": department_name,
        "region_code": item.region_code,
        "level": item.level,
        "legal_basis": item.legal_basis,
        "conditions": item.conditions,
        "materials": item.materials,
        "legal_limit_days": item.legal_limit_days,
        "promised_limit_days": item.promised_limit_days,
        "limit_unit": item.limit_unit,
        "on_the_spot": item.promised_limit_days == 0,
        "fee": item.fee,
        "online": item.online,
        "visits": item.visits,
        "location": item.location,
        "hours": item.hours,
        "flow": item.flow,
        "contact": item.contact,
        "complaint": item.complaint,
        "instant_approval": item.instant_approval,
        "pinyin_initials": item.pinyin_initials,
    }


def department_public(d: Department) -> dict[str, Any]:
    return {
        "code": d.code,
        "name": d.name,
        "credit_code": d.credit_code,
        "level": d.level,
        "region_code": d.region_code,
        "phone": d.phone,
        "address": d.address,
    }


def life_event_summary(e: LifeEvent, item_codes: list[str]) -> dict[str, Any]:
    return {
        "code": e.code,
        "name": e.name,
        "description": e.description,
        "pinyin_initials": e.pinyin_initials,
        "items": item_codes,
    }


def snapshot(session: Session) -> dict[str, Any]:
    """The whole catalog for a kiosk's offline copy (without the sealing key: the route adds it)."""
    names = department_names(session)
    links = life_event_item_codes(session)
    items = session.scalars(select(ServiceItem).order_by(ServiceItem.position, ServiceItem.code))
    return {
        "version": version(session)[0],
        "departments": [department_public(d) for d in departments(session)],
        "items": [item_guide(i, names.get(i.department_code, "")) for i in items],
        "life_events": [
            {
                **life_event_summary(e, links.get(e.code, [])),
                "materials": merged_materials(life_event_items(session, e.code)),
            }
            for e in life_events(session)
        ],
    }
