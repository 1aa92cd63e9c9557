"""``kioskctl selftest`` and ``status``: what a technician reads off a kiosk.

The self-test covers what a kiosk needs to serve: its devices (the checks of
``python -m devices selftest``), the broker (a real MQTT connection with the
kiosk's own certificate), the clock (against the backend's ``Date`` header:
certificates and command expiries depend on it), the disk, and the device
certificate's remaining validity. Each check gives ok or fail with a reason;
a technician's guide for each reason is in provisioning/README.md.
"""

from __future__ import annotations

import email.utils
import shutil
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from cryptography import x509

from devices.selftest import Check, SelftestConfig, run_selftest
from mqtt.client import BrokerUrl, TlsFiles, new_client
from provisioning.request_signing import KioskAuth, KioskSigner

MAX_CLOCK_SKEW_S = 30.0
MIN_FREE_BYTES = 1 << 30
MIN_FREE_FRACTION = 0.05
CERT_WARN_DAYS = 30


@dataclass(frozen=True)
class KioskConfig:
    """The kiosk's settings as ``kioskctl enrol`` wrote them (``kiosk.env``) or the environment has them."""

    kiosk_id: str | None
    mqtt_url: str | None
    backend_url: str | None
    data_dir: Path
    tls: TlsFiles
    backend_ca: Path | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> KioskConfig:
        def path(name: str) -> Path | None:
            return Path(env[name]) if env.get(name) else None

        return cls(
            kiosk_id=env.get("KIOSK_ID"),
            mqtt_url=env.get("KIOSK_MQTT_URL"),
            backend_url=env.get("KIOSK_BACKEND_URL"),
            data_dir=Path(env.get("KIOSK_DATA_DIR", "var/kiosk")),
            tls=TlsFiles(
                path("KIOSK_MQTT_CA_FILE"),
                path("KIOSK_MQTT_CERT_FILE"),
                path("KIOSK_MQTT_KEY_FILE"),
            ),
            backend_ca=path("KIOSK_BACKEND_CA_FILE"),
        )


def _timed(name: str, test: Callable[[], str]) -> Check:
    started = time.perf_counter()
    try:
        detail, ok = test(), True
    except Exception as err:  # a self-test reports every failure, it never raises
        detail, ok = str(err) or type(err).__name__, False
    return Check(name, ok, detail, (time.perf_counter() - started) * 1000.0)


def check_broker(config: KioskConfig, timeout: float = 5.0) -> str:
    if not config.mqtt_url or not config.kiosk_id:
        raise RuntimeError("KIOSK_MQTT_URL and KIOSK_ID are not set: is the kiosk enrolled?")
    url = BrokerUrl.parse(config.mqtt_url)
    client = new_client(f"kiosk-{config.kiosk_id}-selftest")
    answered = threading.Event()
    outcome: list[str] = []

    def on_connect(c, userdata, flags, reason, props) -> None:
        outcome.append(str(reason))
        answered.set()

    client.on_connect = on_connect
    if url.tls:
        client.tls_set_context(config.tls.context())
    try:
        client.connect(url.host, url.port, keepalive=10)
    except OSError as err:
        raise RuntimeError(f"cannot reach {url}: {err}") from None
    client.loop_start()
    try:
        if not answered.wait(timeout):
            raise RuntimeError(f"{url} did not answer within {timeout:.0f} s (TLS refused?)")
        if outcome[0] != "Success":
            raise RuntimeError(f"{url} refused the connection: {outcome[0]}")
    finally:
        client.disconnect()
        client.loop_stop()
    return f"{url} accepted {'the kiosk certificate' if url.tls else 'the connection'}"


def _trust(config: KioskConfig) -> ssl.SSLContext | bool:
    """What the kiosk's HTTPS calls trust: the CA given at enrolment, else the system's."""
    return ssl.create_default_context(cafile=str(config.backend_ca)) if config.backend_ca else True


def check_backend(config: KioskConfig, timeout: float = 5.0) -> str:
    """The backend answers over HTTPS and takes the kiosk's signature for who it says it is."""
    if not config.backend_url or not config.tls.cert_file or not config.tls.key_file:
        raise RuntimeError("KIOSK_BACKEND_URL or the kiosk's certificate is not set: enrolled?")
    signer = KioskSigner.from_files(config.tls.key_file, config.tls.cert_file)
    verify = _trust(config)
    try:
        with httpx.Client(
            base_url=config.backend_url, auth=KioskAuth(signer), verify=verify, timeout=timeout
        ) as client:
            response = client.get("/api/v1/kiosk/me")
    except httpx.HTTPError as err:
        raise RuntimeError(f"cannot reach {config.backend_url}: {err}") from err
    if response.status_code == 401:
        detail = response.json().get("detail", {})
        reason = detail.get("message", detail) if isinstance(detail, dict) else detail
        raise RuntimeError(f"the backend refused this kiosk: {reason}")
    if response.status_code != 200:
        raise RuntimeError(f"{config.backend_url} answered HTTP {response.status_code}")
    me = response.json()
    if config.kiosk_id and me["kiosk_id"] != config.kiosk_id:
        raise RuntimeError(f"the backend knows this key as {me['kiosk_id']}, not {config.kiosk_id}")
    return f"{me['kiosk_id']} · {me['site']} ({me['region_code']})"


def check_clock(config: KioskConfig, timeout: float = 5.0) -> str:
    if not config.backend_url:
        raise RuntimeError("KIOSK_BACKEND_URL is not set: cannot compare the clock")
    verify = _trust(config)
    try:
        response = httpx.get(
            config.backend_url.rstrip("/") + "/healthz", verify=verify, timeout=timeout
        )
    except httpx.HTTPError as err:
        raise RuntimeError(f"cannot reach the backend at {config.backend_url}: {err}") from None
    date = response.headers.get("Date")
    if not date:
        raise RuntimeError("the backend sent no Date header")
    skew = (datetime.now(UTC) - email.utils.parsedate_to_datetime(date)).total_seconds()
    if abs(skew) > MAX_CLOCK_SKEW_S:
        raise RuntimeError(f"the clock is {skew:+.0f} s off the backend's: check NTP (chrony)")
    return f"{skew:+.0f} s from the backend"


def check_disk(config: KioskConfig) -> str:
    folder = config.data_dir if config.data_dir.exists() else Path("/")
    usage = shutil.disk_usage(folder)
    text = f"{usage.free / 1e9:.1f} GB free of {usage.total / 1e9:.1f} GB on {folder}"
    if usage.free < MIN_FREE_BYTES or usage.free < MIN_FREE_FRACTION * usage.total:
        raise RuntimeError(f"disk nearly full: {text}")
    return text


def certificate_days_left(config: KioskConfig) -> tuple[str, int]:
    if config.tls.cert_file is None:
        raise RuntimeError("KIOSK_MQTT_CERT_FILE is not set: is the kiosk enrolled?")
    cert = x509.load_pem_x509_certificate(config.tls.cert_file.read_bytes())
    days = (cert.not_valid_after_utc - datetime.now(UTC)).days
    return cert.subject.rfc4514_string(), days


def check_certificate(config: KioskConfig) -> str:
    subject, days = certificate_days_left(config)
    if days < 0:
        raise RuntimeError(f"{subject} expired {-days} days ago: re-enrol the kiosk")
    if days < CERT_WARN_DAYS:
        raise RuntimeError(f"{subject} expires in {days} days: re-enrol the kiosk soon")
    return f"{subject}, {days} days left"


def run(config: KioskConfig, devices: SelftestConfig) -> list[Check]:
    return [
        *run_selftest(devices),
        _timed("broker", lambda: check_broker(config)),
        _timed("backend", lambda: check_backend(config)),
        _timed("clock", lambda: check_clock(config)),
        _timed("disk", lambda: check_disk(config)),
        _timed("certificate", lambda: check_certificate(config)),
    ]
