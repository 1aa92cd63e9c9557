"""Fixtures shared by the whole suite, named for what they yield.

Real parts: ``broker`` is a real Mosquitto on a free loopback port;
``fleet_db_url`` a real, migrated SQLite file. Processes run as the real
console scripts of the virtual environment (``fleet``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from backend.core import migrate
from backend.core.db import make_engine
from mqtt.broker import LocalBroker

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def wait_for(predicate: Callable[[], object], timeout: float, interval: float = 0.05) -> bool:
    """Poll until predicate() is truthy; False if it never was within timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[LocalBroker]:
    with LocalBroker(tmp_path / "broker") as running:
        yield running


@pytest.fixture
def fleet_db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'fleet.db'}"
    migrate.upgrade(url)
    return url


@pytest.fixture
def fleet_db(fleet_db_url: str) -> Iterator[Engine]:
    engine = make_engine(fleet_db_url)
    yield engine
    engine.dispose()


class Processes:
    """The fleet's programs as real subprocesses, which tests may SIGKILL and restart."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.env = env
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, argv: list[str], **env: str) -> subprocess.Popen[bytes]:
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
        proc = subprocess.Popen(
            [str(BIN / argv[0]), *argv[1:]],
            env={**self.env, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=self.workdir,
        )
        log.close()
        self.running[name] = proc
        return proc

    def ingest(self, name: str = "ingest-1", **env: str) -> subprocess.Popen[bytes]:
        return self.start(name, ["fleet-backend", "ingest", "--name", name], **env)

    def agent(self, kiosk_id: str, **env: str) -> subprocess.Popen[bytes]:
        data_dir = self.workdir / "kiosks" / kiosk_id
        return self.start(
            f"agent-{kiosk_id}",
            ["kiosk-agent"],
            KIOSK_ID=kiosk_id,
            KIOSK_DATA_DIR=str(data_dir),
            **env,
        )

    def kill(self, name: str) -> None:
        proc = self.running.pop(name)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def stop(self, name: str, timeout: float = 10) -> int:
        proc = self.running.pop(name)
        proc.terminate()
        return proc.wait(timeout)

    def alive(self, name: str) -> bool:
        return name in self.running and self.running[name].poll() is None

    def log(self, name: str) -> str:
        return (self.workdir / f"{name}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for name in list(self.running):
            proc = self.running.pop(name)
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)


@pytest.fixture
def fleet(tmp_path: Path, broker: LocalBroker, fleet_db_url: str) -> Iterator[Processes]:
    """Ingest and agents, wired to ``broker`` and ``fleet_db_url``, started by the test."""
    env = {
        **os.environ,
        "FLEET_DATABASE_URL": fleet_db_url,
        "FLEET_MQTT_URL": broker.url,
        "KIOSK_MQTT_URL": broker.url,
        "KIOSK_ACK_TIMEOUT_S": "3",
        "KIOSK_HEALTH_INTERVAL_S": "1",
        "PYTHONUNBUFFERED": "1",
    }
    procs = Processes(tmp_path, env)
    yield procs
    procs.stop_all()
