"""``fleet-backend load-demo``: the demo catalog, FAQ and population from the data files.

The files live in ``data/`` at the repository root (``FLEET_DATA_DIR``):
``catalog/departments.json``, ``catalog/items.json``,
``catalog/life_events.json``, ``catalog/faq.json`` and
``citizens/citizens.json`` (each citizen with their e-licences). Loading is
idempotent: records are upserted by their codes and ids, and the catalog's
version rises only when its content changed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from backend.gov.keys import DataKeys
from backend.services import catalog, citizens, faq, licences


class DemoDataError(ValueError):
    """A data file is missing or malformed; the message names the file."""


@dataclass(frozen=True)
class DemoSummary:
    catalog_version: int
    catalog_changed: bool
    departments: int
    items: int
    life_events: int
    faqs: int
    citizens: int
    licences: int


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except FileNotFoundError as err:
        raise DemoDataError(f"{path} is missing") from err
    except json.JSONDecodeError as err:
        raise DemoDataError(f"{path} is not valid JSON: {err}") from err


def _date(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)


def load_demo(session: Session, keys: DataKeys, data_dir: Path) -> DemoSummary:
    """Load everything in one transaction (the caller commits)."""
    try:
        result = catalog.load(
            session,
            departments=_read(data_dir / "catalog" / "departments.json"),
            items=_read(data_dir / "catalog" / "items.json"),
            life_events=_read(data_dir / "catalog" / "life_events.json"),
        )
        faqs = faq.load(session, _read(data_dir / "catalog" / "faq.json"))
        people = _read(data_dir / "citizens" / "citizens.json")
        count = 0
        for person in people:
            citizen = citizens.upsert_citizen(
                session,
                keys,
                citizen_id=person["id"],
                name=person["name"],
                id_number=person["id_number"],
                phone=person.get("phone"),
                region_code=person.get("region_code"),
            )
            for lic in person.get("licences", []):
                licences.issue(
                    session,
                    licence_no=lic["licence_no"],
                    citizen_id=citizen.id,
                    type_code=lic["type_code"],
                    title=lic["title"],
                    issuer=lic["issuer"],
                    fields=lic.get("fields", {}),
                    issued_at=_date(lic["issued_at"]),
                    valid_until=_date(lic.get("valid_until")),
                    status=lic.get("status", "valid"),
                )
                count += 1
    except (KeyError, TypeError) as err:
        raise DemoDataError(f"a record in {data_dir} lacks a field: {err}") from err
    except (catalog.CatalogDataError, citizens.CitizenRefused) as err:
        raise DemoDataError(str(err)) from err
    return DemoSummary(
        catalog_version=result.version,
        catalog_changed=result.changed,
        departments=result.departments,
        items=result.items,
        life_events=result.life_events,
        faqs=faqs,
        citizens=len(people),
        licences=count,
    )
