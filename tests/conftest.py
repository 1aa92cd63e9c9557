"""Fixtures shared by the whole suite, named for what they yield.

Real parts: ``broker`` is a real Mosquitto on a free loopback port;
``fleet_db_url`` a real, migrated SQLite file. Processes run as the real
console scripts of the virtual environment (``fleet``).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from backend.core import migrate
from backend.core.db import make_engine
from devices.card.private_pcscd import VPCD_DRIVER, PcscdDaemon, can_isolate, find_pcscd
from mqtt.broker import LocalBroker, free_port
from tests import privacy_scan
from tests.privacy_scan import MqttTap

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


# --- the privacy scan, after every session (tests/privacy_scan.py) ---------------------------


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_SCAN_SINCE] = time.time() - 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the session if anything it wrote holds a full identity number."""
    config = session.config
    if os.environ.get("PRIVACY_SCAN") == "0" or not session.testscollected:
        return
    if config.option.collectonly or _SCAN_SINCE not in config.stash:
        return
    roots = [privacy_scan.ARTIFACTS, REPO / "var", config._tmp_path_factory.getbasetemp()]  # type: ignore[attr-defined]
    ocr = os.environ.get("PRIVACY_SCAN_OCR") != "0"
    try:
        findings = privacy_scan.scan(roots, since=config.stash[_SCAN_SINCE], ocr=ocr)
        text = privacy_scan.report(findings, roots)
    except Exception as err:  # a scan that cannot run fails the session, and says why
        findings = [err]
        text = f"privacy scan could not run ({type(err).__name__}: {err}); run `make setup`\n"
    privacy_scan.REPORT.parent.mkdir(parents=True, exist_ok=True)
    privacy_scan.REPORT.write_text(text, encoding="utf-8")
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(text.rstrip(), red=bool(findings), bold=bool(findings))
    if findings:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_SCAN_SINCE = pytest.StashKey[float]()


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


class PostgresServer:
    """A throwaway PostgreSQL cluster on a free loopback port, made with the Debian binaries."""

    def __init__(self, root: Path) -> None:
        bindirs = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
        if not bindirs:
            raise RuntimeError("PostgreSQL is not installed; run `make setup`")
        self.bin = bindirs[-1]
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self._databases = 0

    def _run(self, *argv: str) -> None:
        # PostgreSQL refuses to run as root: as root, run it as the postgres user.
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *argv], check=True, capture_output=True, timeout=120)

    def start(self) -> PostgresServer:
        self.root.chmod(0o755)
        self.data.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres", "postgres")
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        options = f"-p {self.port} -h 127.0.0.1 -k {self.data} -F -c max_connections=200"
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.data / "server.log"),
            "-w",
            "start",
        )
        return self

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")

    def new_database(self) -> str:
        """A fresh, empty database; its SQLAlchemy URL."""
        self._databases += 1
        name = f"fleet_{os.getpid()}_{self._databases}"
        engine = create_engine(
            f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres",
            isolation_level="AUTOCOMMIT",
        )
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def dump(self, path: Path) -> None:
        """Every test database's data, as SQL, for the privacy scan (tests/privacy_scan.py)."""
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        argv = [str(self.bin / "pg_dumpall"), "-h", "127.0.0.1", "-p", str(self.port)]
        done = subprocess.run(
            [*prefix, *argv, "-U", "postgres", "--data-only"], capture_output=True, timeout=600
        )
        path.write_bytes(done.stdout)


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    root = Path(tempfile.mkdtemp(prefix="fleet-pg-"))
    server = PostgresServer(root).start()
    yield server
    try:
        server.dump(tmp_path_factory.mktemp("postgres-dump") / "all.sql")
    except (OSError, subprocess.SubprocessError) as err:
        print(f"privacy scan: could not dump the PostgreSQL test databases: {err}")
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated database of each kind the backend supports: SQL must run on both."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'fleet.db'}"
    else:
        url = request.getfixturevalue("postgres_server").new_database()
    migrate.upgrade(url)
    return url


@pytest.fixture(autouse=True)
def audit_key_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test's own FLEET_CA_DIR (where the audit key is made), passphrase and checkpoint file.

    The audit log is keyed (backend/gov/keys.py): whatever records an entry, in
    this process or a subprocess, needs the key, and a verifier the same one.
    """
    from backend.core.config import get_settings
    from tests.kiosk_identity import CA_PASSPHRASE

    if not os.environ.get("FLEET_CA_PASSPHRASE"):
        monkeypatch.setenv("FLEET_CA_PASSPHRASE", CA_PASSPHRASE)
    monkeypatch.setenv("FLEET_CA_DIR", str(tmp_path / "ca"))
    monkeypatch.setenv("FLEET_AUDIT_CHECKPOINT_FILE", str(tmp_path / "audit-checkpoints.jsonl"))
    get_settings.cache_clear()
    yield tmp_path / "ca"
    get_settings.cache_clear()


@pytest.fixture
def kiosk_ca(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder for the fleet CA, with its passphrase in the environment (tests/kiosk_identity.py)."""
    from tests.kiosk_identity import CA_PASSPHRASE

    monkeypatch.setenv("FLEET_CA_PASSPHRASE", CA_PASSPHRASE)
    return tmp_path / "ca"


@pytest.fixture
def fleet_db_url(tmp_path: Path) -> str:
    """A migrated SQLite database (the default); see ``any_db_url`` for both kinds."""
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
    tap = MqttTap(broker.host, broker.port, tmp_path / "mqtt-capture.tsv")  # privacy scan
    yield procs
    procs.stop_all()
    tap.stop()


# --- PC/SC: one private pcscd per test process ---------------------------------------------


@pytest.fixture(scope="session")
def pcscd_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PcscdDaemon]:
    """The controller of this session's private pcscd (not started yet)."""
    pcscd = find_pcscd()
    if pcscd is None:
        pytest.skip("pcscd is not installed (Debian package pcscd)")
    if not VPCD_DRIVER.exists():
        pytest.skip(f"vpcd driver missing at {VPCD_DRIVER} (Debian package vsmartcard-vpcd)")
    isolated = can_isolate()
    if isolated:
        root = tmp_path_factory.mktemp("pcscd")
        daemon = PcscdDaemon(root, pcscd, isolated=True)
        # libpcsclite reads this once per process, at its first call.
        previous = os.environ.get("PCSCLITE_CSOCK_NAME")
        os.environ["PCSCLITE_CSOCK_NAME"] = str(daemon.socket_path)
    else:
        if Path("/run/pcscd/pcscd.comm").exists():
            pytest.skip("cannot run a private pcscd (needs root and unshare) beside the system one")
        daemon = PcscdDaemon(tmp_path_factory.mktemp("pcscd"), pcscd, isolated=False)
        previous = os.environ.get("PCSCLITE_CSOCK_NAME")
    yield daemon
    daemon.stop()
    if previous is None:
        os.environ.pop("PCSCLITE_CSOCK_NAME", None)
    else:
        os.environ["PCSCLITE_CSOCK_NAME"] = previous


@pytest.fixture
def pcscd_with_vpcd(pcscd_daemon: PcscdDaemon) -> PcscdDaemon:
    """A running private pcscd whose only reader is vpcd."""
    pcscd_daemon.ensure(with_vpcd=True)
    return pcscd_daemon
