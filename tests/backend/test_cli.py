"""fleet-backend as an operator meets it: clear refusals, working migrations, a serving API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from backend.core import migrate
from mqtt.broker import free_port
from tests.conftest import wait_for

CLI = str(Path(sys.executable).parent / "fleet-backend")


def run(*argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *argv], capture_output=True, text=True, timeout=60, env={**os.environ, **env}
    )


def test_db_upgrade_then_current(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fleet.db'}"
    assert run("db", "current", FLEET_DATABASE_URL=url).stdout.strip() == "(empty database)"
    upgraded = run("db", "upgrade", FLEET_DATABASE_URL=url)
    assert upgraded.returncode == 0, upgraded.stderr
    assert run("db", "current", FLEET_DATABASE_URL=url).stdout.strip() == migrate.head_revision(url)
    assert run("db", "upgrade", FLEET_DATABASE_URL=url).returncode == 0  # idempotent


def test_serve_and_ingest_refuse_an_unmigrated_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fleet.db'}"
    for argv in (["serve", "--port", "1"], ["ingest"]):
        result = run(*argv, FLEET_DATABASE_URL=url)
        assert result.returncode == 1
        assert "fleet-backend db upgrade" in result.stderr


def test_bad_configuration_is_named(tmp_path: Path) -> None:
    result = run("ingest", FLEET_MQTT_URL="http://wrong:1883")
    assert result.returncode == 2
    assert "mqtt://" in result.stderr and "FLEET_MQTT_URL" not in result.stdout
    public = run("ingest", FLEET_BROKER_PUBLIC_URL="broker:8883")
    assert public.returncode == 2 and "broker_public_url" in public.stderr


def test_serve_answers_health_and_openapi(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fleet.db'}"
    assert run("db", "upgrade", FLEET_DATABASE_URL=url).returncode == 0
    port = free_port()
    server = subprocess.Popen(
        [CLI, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env={**os.environ, "FLEET_DATABASE_URL": url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"

    def get(path: str) -> dict:
        with urllib.request.urlopen(base + path, timeout=2) as response:
            return json.load(response)

    def up() -> bool:
        try:
            return get("/healthz")["status"] == "ok"
        except OSError:
            time.sleep(0.1)
            return False

    try:
        assert wait_for(up, 30)
        assert "/api/v1/ops/events" in get("/openapi.json")["paths"]
    finally:
        server.terminate()
        server.wait(10)
