"""Admins manage users on a page; operators place kiosks; the CLI makes the first admin."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from backend.models import User
from backend.services import audit
from tests.backend.ops.conftest import PASSWORD, Feeder, login

BIN = Path(sys.executable).parent


def test_admin_creates_a_technician_who_then_logs_in(
    ops_client: TestClient, users: dict, fleet_db: Engine
) -> None:
    csrf = login(ops_client, "admin1")
    bad = ops_client.post(
        "/ops/users",
        data={"username": "tech2", "password": PASSWORD, "role": "technician", "csrf": csrf},
    )
    assert bad.status_code == 422 and "region" in bad.text  # a technician needs regions
    short = ops_client.post(
        "/ops/users",
        data={"username": "tech2", "password": "short", "role": "operator", "csrf": csrf},
    )
    assert short.status_code == 422
    made = ops_client.post(
        "/ops/users",
        data={
            "username": "tech2",
            "display_name": "李工",
            "password": PASSWORD,
            "role": "technician",
            "regions": "1101，320102",
            "csrf": csrf,
        },
        follow_redirects=False,
    )
    assert made.status_code == 303
    with Session(fleet_db) as session:
        tech2 = session.scalar(select(User).where(User.username == "tech2"))
        assert tech2.regions == ["1101", "320102"] and tech2.password_hash.startswith("$argon2")
    page = ops_client.get("/ops/users")
    assert "李工" in page.text and "江苏省南京市玄武区" in page.text
    too_short = ops_client.post(
        f"/ops/users/{tech2.id}/password", data={"password": "short", "csrf": csrf}
    )
    assert too_short.status_code == 422
    reset = ops_client.post(
        f"/ops/users/{tech2.id}/password",
        data={"password": "a-new-long-password", "csrf": csrf},
        follow_redirects=False,
    )
    assert reset.status_code == 303
    disabled = ops_client.post(
        f"/ops/users/{tech2.id}/active",
        data={"active": "false", "csrf": csrf},
        follow_redirects=False,
    )
    assert disabled.status_code == 303
    ops_client.cookies.clear()
    form = ops_client.get("/ops/login").text
    token = form.split('name="csrf" value="')[1].split('"')[0]
    refused = ops_client.post(
        "/ops/login",
        data={"username": "tech2", "password": PASSWORD, "csrf": token},
        follow_redirects=False,
    )
    assert "error=1" in refused.headers["location"]  # disabled users cannot log in
    with Session(fleet_db) as session:
        actions = [e.action for e in audit.recent(session, limit=20)]
    assert {"user.create", "user.password_reset", "user.disable", "login", "login.failed"} <= set(
        actions
    )


def test_operators_place_kiosks_in_known_regions(
    ops_client: TestClient, users: dict, feed: Feeder
) -> None:
    feed.kiosk("demo-kiosk-01")
    login(ops_client, "operator1")
    assert (
        ops_client.put(
            "/api/v1/ops/kiosks/demo-kiosk-01/placement", json={"region_code": "999999"}
        ).status_code
        == 422
    )
    placed = ops_client.put(
        "/api/v1/ops/kiosks/demo-kiosk-01/placement",
        json={"region_code": "110101001", "site": "东华门街道便民服务中心"},
    )
    assert placed.status_code == 204
    assert "北京市东城区东华门街道" in ops_client.get("/ops/kiosks/demo-kiosk-01").text
    ops_client.cookies.clear()
    login(ops_client, "tech1")  # 110101: the township is inside their county
    assert ops_client.get("/ops/kiosks/demo-kiosk-01").status_code == 200
    assert (
        ops_client.put(
            "/api/v1/ops/kiosks/demo-kiosk-01/placement", json={"region_code": "110102"}
        ).status_code
        == 403
    )


def test_cli_creates_the_first_admin(fleet_db_url: str, fleet_db: Engine) -> None:
    env = {**os.environ, "FLEET_DATABASE_URL": fleet_db_url}
    cli = [
        BIN / "fleet-backend",
        "admin",
        "create-user",
        "--username",
        "root",
        "--role",
        "admin",
        "--password-stdin",
    ]
    made = subprocess.run(cli, env=env, input=PASSWORD + "\n", capture_output=True, text=True)
    assert made.returncode == 0 and "created" in made.stdout
    again = subprocess.run(cli, env=env, input=PASSWORD + "\n", capture_output=True, text=True)
    assert again.returncode == 2 and "already exists" in again.stderr
    weak = subprocess.run(
        [*cli[:4], "other", *cli[5:]], env=env, input="123\n", capture_output=True, text=True
    )
    assert weak.returncode == 2 and "at least" in weak.stderr
    token = subprocess.run(
        [
            BIN / "fleet-backend",
            "admin",
            "create-token",
            "--role",
            "operator",
            "--name",
            "x",
            "--region",
            "11",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert token.returncode == 2 and "only technician" in token.stderr
    with Session(fleet_db) as session:
        assert [u.username for u in session.scalars(select(User))] == ["root"]
