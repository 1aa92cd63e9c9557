"""Enrolment: one-time codes from ops, ``kioskctl enrol`` on the kiosk, retirement revokes.

The API is driven over a real ``fleet-backend serve``; the enrolled kiosk then
talks to the deployment's TLS broker with the certificate it received.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from sqlalchemy import Engine, update

from backend.models import EnrolmentCode
from mqtt.broker import free_port
from provisioning.ca import make_csr, new_key
from tests.conftest import Processes, wait_for
from tests.e2e.conftest import kiosk_outbox, start_agent, start_ingest, stored
from tests.provisioning.conftest import PASSPHRASE, TlsBroker

BIN = Path(sys.executable).parent


@dataclass
class Backend:
    url: str
    env: dict[str, str]
    admin: str
    operator: str
    technician: str

    def call(self, method: str, path: str, body: dict | None = None, token: str | None = None):
        request = urllib.request.Request(
            self.url + path,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json"}
            | ({"Authorization": f"Bearer {token}"} if token else {}),
            method=method,
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as err:
            return err.code, json.load(err)

    def new_code(self, **overrides: object) -> str:
        status, body = self.call(
            "POST",
            "/api/v1/ops/enrolment-codes",
            {"site": "西城区政务服务中心 1 楼", "region_code": "110102", **overrides},
            self.operator,
        )
        assert status == 201, body
        return body["code"]


def fleet_cli(env: dict[str, str], *argv: str) -> str:
    result = subprocess.run(
        [BIN / "fleet-backend", *argv], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture
def backend(tls_broker: TlsBroker, fleet_db_url: str) -> Iterator[Backend]:
    env = {
        **os.environ,
        "FLEET_DATABASE_URL": fleet_db_url,
        "FLEET_CA_DIR": str(tls_broker.ca.directory),
        "FLEET_CA_PASSPHRASE": PASSPHRASE,
        "FLEET_BROKER_PUBLIC_URL": tls_broker.broker.url,
    }
    tokens = {
        role: fleet_cli(env, "admin", "create-token", "--role", role, "--name", f"t-{role}")
        for role in ("admin", "operator", "technician")
    }
    port = free_port()
    server = subprocess.Popen(
        [BIN / "fleet-backend", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    backend = Backend(f"http://127.0.0.1:{port}", env, **tokens)

    def up() -> bool:
        try:
            return backend.call("GET", "/healthz")[0] == 200
        except OSError:
            return False

    assert wait_for(up, 30)
    yield backend
    server.terminate()
    server.wait(10)


def kioskctl(backend: Backend, code: str, config_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            BIN / "kioskctl",
            "enrol",
            "--backend",
            backend.url,
            "--code",
            code,
            "--config-dir",
            str(config_dir),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_codes_need_an_operator(backend: Backend) -> None:
    body = {"site": "某社区服务中心", "region_code": "110102"}
    assert backend.call("POST", "/api/v1/ops/enrolment-codes", body)[0] == 401
    assert backend.call("POST", "/api/v1/ops/enrolment-codes", body, "gk_forged")[0] == 401
    assert backend.call("POST", "/api/v1/ops/enrolment-codes", body, backend.technician)[0] == 403
    assert (
        backend.call(
            "POST", "/api/v1/ops/enrolment-codes", {**body, "region_code": "11"}, backend.operator
        )[0]
        == 422
    )


def test_kioskctl_enrols_once_and_the_kiosk_reaches_the_broker(
    backend: Backend, tls_broker: TlsBroker, tmp_path: Path, fleet_db: Engine, fleet_db_url: str
) -> None:
    code = backend.new_code()
    config = tmp_path / "kiosk-etc"
    result = kioskctl(backend, code.lower().replace("-", ""), config)  # as typed, sloppily
    assert result.returncode == 0, result.stderr
    assert "PRIVATE KEY" not in result.stdout + result.stderr
    assert (config / "kiosk.key").stat().st_mode & 0o777 == 0o600
    env = dict(line.split("=", 1) for line in (config / "kiosk.env").read_text().splitlines())
    kiosk_id = env["KIOSK_ID"]
    assert kiosk_id == "k110102-0001"
    cert = x509.load_pem_x509_certificate((config / "kiosk.crt").read_bytes())
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == kiosk_id

    again = kioskctl(backend, code, tmp_path / "second-box")
    assert again.returncode == 1 and "already used" in again.stderr

    # The enrolled kiosk, configured only by kiosk.env, sends its events over TLS.
    fleet = Processes(tmp_path, {**tls_broker.env(fleet_db_url), **env, "KIOSK_ACK_TIMEOUT_S": "3"})
    try:
        outbox = kiosk_outbox(fleet, kiosk_id)
        outbox.put("device.recovered", {"device": "printer"}, id=uuid.uuid4())
        start_ingest(fleet)
        start_agent(fleet, kiosk_id)
        assert wait_for(
            lambda: stored(fleet_db, kiosk_id) == 1 and outbox.stats().depth == 0, 30
        ), fleet.log(f"agent-{kiosk_id}")
    finally:
        fleet.stop_all()

    # Retiring it revokes its certificate: its serial is in the CRL the broker loads.
    assert (
        backend.call("POST", f"/api/v1/ops/kiosks/{kiosk_id}/retire", token=backend.operator)[0]
        == 403
    )
    status, retired = backend.call(
        "POST", f"/api/v1/ops/kiosks/{kiosk_id}/retire", token=backend.admin
    )
    assert status == 200 and retired["revoked_serials"] == [format(cert.serial_number, "x")]
    crl = x509.load_pem_x509_crl(tls_broker.ca.crl_path.read_bytes())
    assert crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None
    assert (
        backend.call("POST", "/api/v1/ops/kiosks/k999999-0001/retire", token=backend.admin)[0]
        == 404
    )


def test_forged_expired_and_bad_requests_are_refused_with_reasons(
    backend: Backend, fleet_db: Engine
) -> None:
    csr = make_csr(new_key(), "whatever").decode()
    status, body = backend.call(
        "POST", "/api/v1/enrol", {"code": "AAAA-BBBB-CCCC-DDDD", "csr_pem": csr}
    )
    assert status == 403 and body["detail"]["reason"] == "unknown_code"

    code = backend.new_code()
    status, body = backend.call("POST", "/api/v1/enrol", {"code": code, "csr_pem": "not a CSR"})
    assert status == 422 and body["detail"]["reason"] == "bad_request"
    status, body = backend.call("POST", "/api/v1/enrol", {"code": code, "csr_pem": csr})
    assert status == 201, body  # a refused request did not burn the code

    expiring = backend.new_code()
    with fleet_db.begin() as conn:
        conn.execute(
            update(EnrolmentCode)
            .where(EnrolmentCode.used_at.is_(None))
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    status, body = backend.call("POST", "/api/v1/enrol", {"code": expiring, "csr_pem": csr})
    assert status == 410 and body["detail"]["reason"] == "expired_code"
