"""Regions: the GB/T 2260 division names (from data/divisions, in memory) and kiosk placements.

The division tables (31 provinces, 342 prefectures, 2,978 counties, ~41,000
townships) are read once per process from the files; the database only holds
where each kiosk stands (``kiosk_placements``). The fleet tree is one
GROUP BY over placements, rolled up here to the five levels.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from backend.core.db import insert_ignoring_duplicates
from backend.models import Enrolment, Kiosk, KioskPlacement
from backend.models.base import utcnow

DIVISIONS = Path(__file__).resolve().parents[2] / "data" / "divisions"
ENROLLED_ID = re.compile(r"k(\d{6}|\d{9}|\d{12})-\d{4}")  # backend/services/enrolment.py
LEVELS = {2: "省", 4: "市", 6: "县", 9: "乡", 12: "村"}
UNPLACED = "未定位"


@lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    names: dict[str, str] = {}
    for name in ("provinces.json", "cities.json", "areas.json"):
        for row in json.loads((DIVISIONS / name).read_text(encoding="utf-8")):
            names[row["code"]] = row["name"]
    with (DIVISIONS / "streets.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            names[row["code"]] = row["name"]
    return names


def name_of(code: str) -> str:
    """The division's name ("西城区"); a 6-digit GB/T 2260 code of a province or city works too."""
    names = _names()
    if code in names:
        return names[code]
    if len(code) == 6 and code.endswith("0000") and code[:2] in names:
        return names[code[:2]]
    if len(code) == 6 and code.endswith("00") and code[:4] in names:
        return names[code[:4]]
    return code


def path_of(code: str) -> list[tuple[str, str]]:
    """(prefix, name) from the province down to ``code``: 北京市 > 市辖区 > 西城区 > ..."""
    return [(code[:n], name_of(code[:n])) for n in (2, 4, 6, 9, 12) if len(code) >= n]


def full_name(code: str | None) -> str:
    if not code:
        return UNPLACED
    parts = [name for _, name in path_of(code) if name != "市辖区"]
    return "".join(parts)


def known(code: str) -> bool:
    """A code whose county (and township, if given) is in the division tables."""
    names = _names()
    if len(code) not in (6, 9, 12) or code[:6] not in names:
        return False
    return len(code) == 6 or code[:9] in names


def region_of_kiosk_id(kiosk_id: str) -> str | None:
    match = ENROLLED_ID.fullmatch(kiosk_id)
    return match.group(1) if match else None


def sync_placements(session: Session) -> int:
    """Place kiosks that have no placement yet: from their enrolment, else from their id."""
    unplaced = session.execute(
        select(Kiosk.id, Enrolment.region_code, Enrolment.site)
        .outerjoin(KioskPlacement, KioskPlacement.kiosk_id == Kiosk.id)
        .outerjoin(Enrolment, Enrolment.kiosk_id == Kiosk.id)
        .where(KioskPlacement.kiosk_id.is_(None))
    ).all()
    now = utcnow()
    rows = []
    for kiosk_id, region_code, site in unplaced:
        if region_code:
            rows.append(
                {
                    "kiosk_id": kiosk_id,
                    "region_code": region_code,
                    "site": site,
                    "source": "enrolment",
                    "updated_at": now,
                }
            )
        elif (derived := region_of_kiosk_id(kiosk_id)) is not None:
            rows.append(
                {
                    "kiosk_id": kiosk_id,
                    "region_code": derived,
                    "site": None,
                    "source": "kiosk_id",
                    "updated_at": now,
                }
            )
    return insert_ignoring_duplicates(session, KioskPlacement.__table__, rows)


def place(session: Session, kiosk_id: str, region_code: str, site: str | None) -> KioskPlacement:
    """Set where a kiosk stands (ops); replaces any earlier placement."""
    if not known(region_code):
        raise ValueError(f"{region_code!r} is not a known county, township or village code")
    row = session.get(KioskPlacement, kiosk_id) or KioskPlacement(kiosk_id=kiosk_id)
    row.region_code, row.site, row.source, row.updated_at = region_code, site, "ops", utcnow()
    session.add(row)
    session.flush()
    return row


def region_filter(regions: Sequence[str] | None, column=KioskPlacement.region_code):  # type: ignore[no-untyped-def]
    """A WHERE clause for a technician's prefixes (None: no restriction)."""
    if regions is None:
        return None
    if not regions:
        return column.is_(None) & column.is_not(None)  # nothing
    return or_(*[column.like(f"{prefix}%") for prefix in regions])


@dataclass
class RegionNode:
    code: str
    name: str
    level: str
    total: int = 0
    online: int = 0
    children: dict[str, RegionNode] = field(default_factory=dict)

    @property
    def offline(self) -> int:
        return self.total - self.online

    def sorted_children(self) -> list[RegionNode]:
        return sorted(self.children.values(), key=lambda n: n.code)


def tree(counts: Iterable[tuple[str | None, int, int]]) -> RegionNode:
    """Roll (region code, kiosks, online) up the five levels under one root."""
    root = RegionNode(code="", name="全部", level="")
    for code, total, online in counts:
        root.total += total
        root.online += online
        node = root
        parts = [("none", UNPLACED)] if not code else path_of(code)
        for prefix, name in parts:
            child = node.children.get(prefix)
            if child is None:
                child = node.children[prefix] = RegionNode(
                    prefix, name, LEVELS.get(len(prefix), "")
                )
            child.total += total
            child.online += online
            node = child
    return root


def placement_counts(
    session: Session, online_expr, regions: Sequence[str] | None = None
) -> list[tuple[str | None, int, int]]:  # type: ignore[no-untyped-def]
    """(region code, kiosks, online) for every region that has kiosks, in one GROUP BY."""
    query = (
        select(
            KioskPlacement.region_code,
            func.count(Kiosk.id),
            func.sum(case((online_expr, 1), else_=0)),
        )
        .select_from(Kiosk)
        .outerjoin(KioskPlacement, KioskPlacement.kiosk_id == Kiosk.id)
        .group_by(KioskPlacement.region_code)
    )
    scope = region_filter(regions)
    if scope is not None:
        query = query.where(scope)
    return [(code, int(total), int(online or 0)) for code, total, online in session.execute(query)]
