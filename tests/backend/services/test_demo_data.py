"""``fleet-backend load-demo``: the demo data loads, twice without change, and is realistic."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from sqlalchemy import func, select
from stdnum.cn import ric, uscc

from backend.core.db import make_engine, make_sessionmaker
from backend.gov.keys import load_data_keys
from backend.models import Citizen, Licence, ServiceItem
from backend.services import catalog
from backend.services.demo_data import load_demo
from tests.backend.gov_fixtures import DATA
from tests.conftest import BIN

PASSPHRASE = "a-long-test-passphrase-for-the-keys"


def test_the_demo_data_is_realistic() -> None:
    departments = json.loads((DATA / "catalog" / "departments.json").read_text("utf-8"))
    items = json.loads((DATA / "catalog" / "items.json").read_text("utf-8"))
    events = json.loads((DATA / "catalog" / "life_events.json").read_text("utf-8"))
    people = json.loads((DATA / "citizens" / "citizens.json").read_text("utf-8"))
    assert len(items) >= 40 and len({i["department"] for i in items}) >= 8 and len(events) >= 5
    assert all(uscc.is_valid(d["credit_code"]) for d in departments)
    assert all(
        i["code"].startswith(d["credit_code"])
        for i in items
        for d in departments
        if d["code"] == i["department"]
    )
    assert all(ric.is_valid(p["id_number"]) for p in people)
    assert len({i["code"] for i in items}) == len(items)


def test_load_is_idempotent(fleet_db_url: str, tmp_path: Path) -> None:
    keys = load_data_keys(tmp_path / "ca", PASSPHRASE)
    sessions = make_sessionmaker(make_engine(fleet_db_url))
    with sessions.begin() as session:
        first = load_demo(session, keys, DATA)
    with sessions.begin() as session:
        second = load_demo(session, keys, DATA)
    assert first.catalog_changed and not second.catalog_changed
    assert first.catalog_version == second.catalog_version == 1
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ServiceItem)) == first.items
        assert session.scalar(select(func.count()).select_from(Citizen)) == first.citizens
        assert session.scalar(select(func.count()).select_from(Licence)) == first.licences
        assert catalog.version(session)[0] == 1


def test_the_command(fleet_db_url: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "FLEET_DATABASE_URL": fleet_db_url,
        "FLEET_CA_DIR": str(tmp_path / "ca"),
        "FLEET_CA_PASSPHRASE": PASSPHRASE,
    }
    run = [str(BIN / "fleet-backend"), "load-demo", "--data", str(DATA)]
    first = subprocess.run(run, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "(updated)" in first.stdout and "51 items" in first.stdout
    second = subprocess.run(run, env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0 and "(unchanged)" in second.stdout
    missing = subprocess.run(
        [*run[:2], "--data", str(tmp_path / "nothing")], env=env, capture_output=True, text=True
    )
    assert missing.returncode == 1 and "missing" in missing.stderr
