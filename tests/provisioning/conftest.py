"""Fixtures for provisioning: a fleet CA in a temp folder and a real Mosquitto configured by it.

``tls_broker`` runs the configuration ``fleet-broker-config`` would write
(TLS listener, client certificates, ACL, CRL) on a free loopback port, so the
tests exercise the deployment's broker, not a look-alike.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest

from mqtt.broker import LocalBroker, free_port
from mqtt.client import TlsFiles, new_client
from provisioning.broker import BrokerConfig, ServiceCredentials, render_conf, write_deployment
from provisioning.ca import FleetCA, key_pem, make_csr, new_key

PASSPHRASE = "a-test-passphrase-long-enough"


@pytest.fixture
def fleet_ca(tmp_path: Path) -> FleetCA:
    return FleetCA.create(tmp_path / "ca", PASSPHRASE)


@dataclass
class TlsBroker:
    """A running deployment broker, its CA and the files a client needs."""

    ca: FleetCA
    broker: LocalBroker
    config: BrokerConfig
    ingest: ServiceCredentials
    web: ServiceCredentials
    workdir: Path

    @property
    def port(self) -> int:
        return self.broker.port

    def enrol(self, kiosk_id: str) -> tuple[TlsFiles, int]:
        """What enrolment will do: key made 'on the kiosk', CSR signed; the kiosk's files."""
        key = new_key()
        signed = self.ca.sign_csr(make_csr(key, kiosk_id), kiosk_id)
        folder = self.workdir / "kiosks" / kiosk_id
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "device.crt").write_bytes(signed.cert_pem)
        (folder / "device.key").write_bytes(key_pem(key))
        (folder / "device.key").chmod(0o600)
        return TlsFiles(
            self.ca.cert_path, folder / "device.crt", folder / "device.key"
        ), signed.serial

    @property
    def ingest_tls(self) -> TlsFiles:
        return TlsFiles(self.ca.cert_path, self.ingest.cert_file, self.ingest.key_file)

    def env(self, fleet_db_url: str, kiosk_tls: TlsFiles | None = None) -> dict[str, str]:
        """The environment of ingest (its service certificate) and, given its files, a kiosk."""
        ingest = self.ingest_tls
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "FLEET_DATABASE_URL": fleet_db_url,
            "FLEET_MQTT_URL": self.broker.url,
            "FLEET_MQTT_CA_FILE": str(ingest.ca_file),
            "FLEET_MQTT_CERT_FILE": str(ingest.cert_file),
            "FLEET_MQTT_KEY_FILE": str(ingest.key_file),
            "FLEET_MQTT_PUBLISHER_CERT_FILE": str(self.web.cert_file),
            "FLEET_MQTT_PUBLISHER_KEY_FILE": str(self.web.key_file),
            "KIOSK_MQTT_URL": self.broker.url,
        }
        if kiosk_tls is not None:
            env |= {
                "KIOSK_MQTT_CA_FILE": str(kiosk_tls.ca_file),
                "KIOSK_MQTT_CERT_FILE": str(kiosk_tls.cert_file),
                "KIOSK_MQTT_KEY_FILE": str(kiosk_tls.key_file),
            }
        return env


@pytest.fixture
def tls_broker(tmp_path: Path, fleet_ca: FleetCA) -> Iterator[TlsBroker]:
    cfg = BrokerConfig(
        directory=tmp_path / "broker-etc",
        port=free_port(),
        bind="127.0.0.1",
        persistence_dir=tmp_path / "broker-lib",
        persistence=False,
        log_dest="stderr",
    )
    (tmp_path / "broker-lib").mkdir()
    ingest, web = write_deployment(fleet_ca, cfg, credentials_dir=tmp_path / "services")
    broker = LocalBroker(tmp_path / "broker", cfg.port, config_text=render_conf(cfg), tls=True)
    broker.start()
    yield TlsBroker(fleet_ca, broker, cfg, ingest, web, tmp_path)
    broker.stop()


@dataclass
class Probe:
    """A bare paho client that records what happens to it: connect result, messages, PUBACKs."""

    client: paho.Client
    connect_reason: Any = None
    messages: list[tuple[str, bytes]] = field(default_factory=list)
    puback: dict[int, Any] = field(default_factory=dict)
    error: BaseException | None = None

    def publish(self, topic: str, payload: bytes) -> Any:
        info = self.client.publish(topic, payload, qos=1)
        return info

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def probe(port: int, tls: TlsFiles | None, client_id: str, wait: float = 3.0) -> Probe:
    """Connect; ``connect_reason`` is None if the broker never accepted (TLS refused, closed)."""
    client = new_client(client_id)
    result = Probe(client)
    client.on_connect = lambda c, u, f, reason, p: setattr(result, "connect_reason", reason)
    client.on_message = lambda c, u, m: result.messages.append((m.topic, m.payload))
    client.on_publish = lambda c, u, mid, reason, p: result.puback.__setitem__(mid, reason)
    if tls is not None:
        client.tls_set_context(tls.context())
    try:
        client.connect("127.0.0.1", port, keepalive=30)
    except OSError as err:
        result.error = err
        return result
    client.loop_start()
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and result.connect_reason is None:
        if not client.is_connected() and result.connect_reason is None and _closed(client):
            break
        time.sleep(0.02)
    return result


def _closed(client: paho.Client) -> bool:
    return client.socket() is None


@dataclass
class HttpsBackend:
    """A real ``fleet-backend serve`` over HTTPS, its certificate issued by the fleet CA."""

    url: str
    ca: FleetCA
    database_url: str
    env: dict[str, str]

    def enrol(self, config_dir: Path, region_code: str = "110102") -> str:
        """``kioskctl enrol`` against this backend, trusting the fleet CA; returns the kiosk id."""
        from provisioning.kioskctl import enrol
        from tests.kiosk_identity import new_enrolment_code

        code = new_enrolment_code(
            self.database_url, region_code=region_code, site="西城区政务服务中心"
        )
        return enrol(self.url, code, config_dir, cafile=self.ca.cert_path)


@pytest.fixture
def https_backend(tmp_path: Path, fleet_ca: FleetCA, fleet_db_url: str) -> Iterator[HttpsBackend]:
    import ssl
    import subprocess
    import sys

    import httpx

    from tests.conftest import wait_for

    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "FLEET_DATABASE_URL": fleet_db_url,
        "FLEET_CA_DIR": str(fleet_ca.directory),
        "FLEET_CA_PASSPHRASE": PASSPHRASE,
    }
    subprocess.run([bin_dir / "fleet-backend", "db", "upgrade"], env=env, check=True)
    tls = tmp_path / "backend-tls"
    subprocess.run(
        [bin_dir / "fleet-backend", "ca", "issue-server", "--host", "127.0.0.1", "--out", str(tls)],
        env=env,
        check=True,
        capture_output=True,
    )
    port = free_port()
    log = open(tmp_path / "backend.log", "ab")  # noqa: SIM115 - owned by the child
    proc = subprocess.Popen(
        [
            *(bin_dir / "fleet-backend", "serve", "--port", str(port)),
            *("--tls-cert", str(tls / "backend.crt"), "--tls-key", str(tls / "backend.key")),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    url = f"https://127.0.0.1:{port}"

    def up() -> bool:
        try:
            context = ssl.create_default_context(cafile=str(fleet_ca.cert_path))
            return httpx.get(url + "/healthz", verify=context).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        assert wait_for(up, 30), (tmp_path / "backend.log").read_text()
        yield HttpsBackend(url, fleet_ca, fleet_db_url, env)
    finally:
        proc.terminate()
        proc.wait(10)
