"""kioskctl selftest and status, as a technician runs them on an enrolled kiosk."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from backend.core.db import make_engine
from backend.services import enrolment as enrolment_service
from mqtt.broker import LocalBroker
from mqtt.outbox import Outbox
from provisioning.ca import FleetCA, key_pem, make_csr, new_key
from tests.provisioning.conftest import HttpsBackend

KIOSKCTL = Path(sys.executable).parent / "kioskctl"
KIOSK = "k110102-0007"


class _Healthz(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)  # BaseHTTPRequestHandler adds the Date header
        self.end_headers()
        self.wfile.write(b'{"status":"ok"}')

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def backend_url() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Healthz)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def enrolled_config(
    tmp_path: Path, ca: FleetCA, broker_url: str, backend_url: str, days: int = 825
) -> Path:
    config = tmp_path / "etc"
    config.mkdir()
    key = new_key()
    (config / "kiosk.key").write_bytes(key_pem(key))
    (config / "kiosk.crt").write_bytes(ca.sign_csr(make_csr(key, KIOSK), KIOSK, days=days).cert_pem)
    (config / "kiosk.env").write_text(
        f"KIOSK_ID={KIOSK}\nKIOSK_MQTT_URL={broker_url}\nKIOSK_BACKEND_URL={backend_url}\n"
        f"KIOSK_DATA_DIR={tmp_path / 'data'}\n"
        f"KIOSK_MQTT_CERT_FILE={config / 'kiosk.crt'}\nKIOSK_MQTT_KEY_FILE={config / 'kiosk.key'}\n"
    )
    return config


def failed(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The checks the report's last line names as failed."""
    last = result.stdout.strip().splitlines()[-1]
    return last.split("failed: ", 1)[1].split(", ") if "failed: " in last else []


def kioskctl(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KIOSKCTL, *argv], capture_output=True, text=True, timeout=120)


def test_selftest_passes_then_names_what_failed(
    tmp_path: Path, broker: LocalBroker, https_backend: HttpsBackend
) -> None:
    config = tmp_path / "etc"
    kiosk_id = https_backend.enrol(config)
    with (config / "kiosk.env").open("a") as env:  # this test's plain broker, its own data
        env.write(f"KIOSK_MQTT_URL={broker.url}\nKIOSK_DATA_DIR={tmp_path / 'data'}\n")
    ok = kioskctl("selftest", "--sim", "--print", "--config-dir", str(config))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    for label in ("broker", "backend", "clock", "disk", "certificate", "printer"):
        assert label in ok.stdout
    assert "9 of 9 ok" in ok.stdout
    assert "西城区政务服务中心" in ok.stdout  # the backend took the kiosk's signature
    assert "设备状态报告" in ok.stdout and kiosk_id in ok.stdout  # the printed report

    engine = make_engine(https_backend.database_url)
    with Session(engine) as session:
        enrolment_service.retire(session, https_backend.ca, kiosk_id)
        session.commit()
    engine.dispose()
    retired = kioskctl("selftest", "--sim", "--config-dir", str(config))
    assert retired.returncode == 1
    assert failed(retired) == ["backend"] and "retired" in retired.stdout

    broker.stop()
    down = kioskctl("selftest", "--sim", "--config-dir", str(config))
    assert down.returncode == 1
    assert "broker" in failed(down)
    assert "cannot reach" in down.stdout


def test_a_certificate_about_to_expire_fails_the_selftest(
    tmp_path: Path, fleet_ca: FleetCA, broker: LocalBroker, backend_url: str
) -> None:
    config = enrolled_config(tmp_path, fleet_ca, broker.url, backend_url, days=10)
    result = kioskctl("selftest", "--sim", "--config-dir", str(config))
    assert result.returncode == 1
    assert "certificate" in failed(result) and "re-enrol" in result.stdout


def test_status_reports_identity_certificate_and_backlog(
    tmp_path: Path, fleet_ca: FleetCA, broker: LocalBroker, backend_url: str
) -> None:
    config = enrolled_config(tmp_path, fleet_ca, broker.url, backend_url)
    outbox = Outbox.open(tmp_path / "data" / "kiosk.db")
    outbox.put("device.recovered", {"device": "printer"})
    result = kioskctl("status", "--config-dir", str(config))
    assert result.returncode == 0, result.stderr
    assert KIOSK in result.stdout and "days left" in result.stdout
    assert "1 (oldest" in result.stdout


def test_unenrolled_kiosk_says_so(tmp_path: Path) -> None:
    result = kioskctl("status", "--config-dir", str(tmp_path / "nothing"))
    assert result.returncode == 0 and "not enrolled" in result.stdout
