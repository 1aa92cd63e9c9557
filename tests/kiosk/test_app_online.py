"""The kiosk app against the real ``fleet-backend serve`` with the demo data, then with it down.

Online: the catalog synced (ETag), the citizen's session vouched by card and
face, an application whose household-register material is met by the
citizen's e-licence and which names the backend's citizen id, the look-up,
a licence printed with its verification QR code, the session closed at the
backend when the card comes out. Offline (the backend stopped): the banner,
the application sealed to the backend's key, the look-up's last-known notice.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from backend.core import migrate
from backend.gov.keys import load_sealing_key
from devices.card.demo import ZHANG_SAN
from kiosk.backend_client import HttpBackendClient, NoBackend
from mqtt.broker import free_port
from provisioning import sealing
from provisioning.request_signing import KioskAuth
from tests.conftest import wait_for
from tests.kiosk.conftest import KioskDriver
from tests.kiosk_identity import CA_PASSPHRASE, enrol_test_kiosk

BIN = Path(sys.executable).parent
CITIZEN_ID = "7b0c0a46-0b8f-4d3e-9d1e-1c2f3a4b5c01"  # 张三 in data/citizens/citizens.json
HOUSEHOLD_REGISTER = "HKB-110102-1990-0188"


class Backend:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.db_url = f"sqlite:///{root / 'fleet.db'}"
        self.ca_dir = root / "ca"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "FLEET_DATABASE_URL": self.db_url,
            "FLEET_CA_DIR": str(self.ca_dir),
            "FLEET_CA_PASSPHRASE": CA_PASSPHRASE,
            "FLEET_ALERT_INTERVAL_S": "0",
            "FLEET_PUBLIC_BASE_URL": self.url,
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = open(self.root / "serve.log", "ab")  # noqa: SIM115 - owned by the child
        self.proc = subprocess.Popen(
            [str(BIN / "fleet-backend"), "serve", "--port", str(self.port)],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.root,
        )
        log.close()

        def up() -> bool:
            try:
                return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        assert wait_for(up, 30), (self.root / "serve.log").read_text()[-3000:]

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    root = tmp_path_factory.mktemp("backend")
    server = Backend(root)
    migrate.upgrade(server.db_url)
    from tests.kiosk_identity import fleet_ca

    fleet_ca(server.ca_dir)
    loaded = subprocess.run(
        [str(BIN / "fleet-backend"), "load-demo"],
        env=server.env,
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert loaded.returncode == 0, loaded.stderr
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def enrolled(backend: Backend, kiosk_app: Any) -> Iterator[HttpBackendClient]:
    old = os.environ.get("FLEET_CA_PASSPHRASE")
    os.environ["FLEET_CA_PASSPHRASE"] = CA_PASSPHRASE
    try:
        with httpx.Client(base_url=backend.url) as client:
            signer = enrol_test_kiosk(client, backend.db_url, backend.ca_dir)
    finally:
        if old is None:
            os.environ.pop("FLEET_CA_PASSPHRASE", None)
        else:
            os.environ["FLEET_CA_PASSPHRASE"] = old
    client = HttpBackendClient(backend.url, signer, timeout=3)
    client.signer = signer  # type: ignore[attr-defined]
    kiosk_app.journey.backend = client
    yield client
    kiosk_app.journey.backend = NoBackend()
    client.close()


def test_online_journey_against_the_real_backend(
    kiosk: KioskDriver, backend: Backend, enrolled: HttpBackendClient
) -> None:
    journey = kiosk.journey
    synced: list[bool] = []
    journey.sync_catalog(synced.append)
    assert kiosk.until(lambda: synced, 10) and synced == [True]
    assert journey.catalog.sealing_public_key_pem and not journey.offline
    etag = journey.catalog_cache.etag()
    journey.sync_catalog(synced.append)  # unchanged: 304, the cache stays
    assert kiosk.until(lambda: len(synced) == 2, 10) and synced[1] is True
    assert journey.catalog_cache.etag() == etag

    before = len(kiosk.outbox())
    kiosk.app.sim_action("card", "genuine")
    kiosk.wait_screen("home")
    assert kiosk.until(lambda: journey.visit.backend is not None, 10)
    kiosk.pump(0.3)
    kiosk.shot("home-online")
    assert kiosk.app.root_widget.offline_text == ""
    token = journey.visit.backend.token

    # 我要办 居民身份证换领: the household register comes from the e-licence
    journey.open_catalog()
    kiosk.wait_screen("catalog")
    kiosk.press(kiosk.widget("catalog", "tab_search"))
    kiosk.type_keys(kiosk.widget("catalog", "keypad"), "SFZHL")
    kiosk.press_text("居民身份证换领")
    kiosk.wait_screen("guide")
    kiosk.press(kiosk.widget("guide", "apply"))
    kiosk.wait_screen("apply")
    kiosk.shot("apply-online")
    assert "居民户口簿：已从电子证照获取" in kiosk.widget("apply", "materials").text
    kiosk.press(kiosk.widget("apply", "submit"))
    kiosk.wait_screen("done")
    assert kiosk.until(lambda: journey.notice == "done.printed", 10)
    receipt_no = kiosk.widget("done", "receipt_no").text

    # 证照打印: the household register, with its verification code and QR
    journey.go_home()
    kiosk.wait_screen("home")
    jobs = len(kiosk.emulator.receipts)
    kiosk.press(kiosk.widget("home", "print"))
    kiosk.wait_screen("licences")
    assert kiosk.until(lambda: len(kiosk.widget("licences", "rows").children) >= 3, 10)
    kiosk.shot("licences")
    kiosk.press_text(HOUSEHOLD_REGISTER)
    assert kiosk.until(lambda: journey.notice == "print.done", 10)
    kiosk.shot("licence-printed")
    (job,) = kiosk.emulator.wait_for_receipts(jobs + 1, timeout=5)[-1:]
    assert "居民户口簿" in job.lines[0]
    printed = "".join(job.lines).replace(" ", "")
    assert HOUSEHOLD_REGISTER in printed and "核验码" in printed
    assert len(job.qr_codes) == 1 and job.qr_codes[0].startswith("http")

    # 我要查: the backend's list of the citizen's applications
    journey.go_home()
    kiosk.wait_screen("home")
    kiosk.press(kiosk.widget("home", "lookup"))
    kiosk.wait_screen("lookup")
    kiosk.shot("lookup-online")
    assert journey.notice is None and journey.visit.applications is not None

    # 我要问: the FAQ by topic
    journey.go_home()
    kiosk.wait_screen("home")
    kiosk.press(kiosk.widget("home", "ask"))
    kiosk.wait_screen("ask")
    kiosk.press_text("社保")
    assert kiosk.until(lambda: len(journey.visit.faq) > 0, 10)
    kiosk.pump(0.3)
    kiosk.shot("ask")
    assert any(t.startswith("问：") and "社保" in t for t in kiosk.texts())
    # ... no answer that fits: the question goes to the department as a ticket
    kiosk.press(kiosk.widget("ask", "ask_staff"))
    assert kiosk.until(lambda: journey.notice == "ask.sent", 10)
    kiosk.shot("ask-sent")
    engine = create_engine(backend.db_url)
    with engine.connect() as conn:
        asked = conn.execute(text("SELECT citizen_id, text, state FROM questions")).all()
    engine.dispose()
    assert [(c, "社保" in q) for c, q, _state in asked] == [(CITIZEN_ID, True)]

    kiosk.app.sim_action("remove")
    kiosk.wait_screen("attract")
    events = kiosk.new_events(before)
    bodies = {kind: body for kind, body in events}
    application = bodies["application.submitted"]
    assert application["receipt_no"] == receipt_no
    assert application["citizen_id"] == CITIZEN_ID and "applicant_sealed" not in application
    materials = {m["name"]: m for m in application["materials"]}
    assert materials["居民户口簿"] == {
        "name": "居民户口簿",
        "source": "e_licence",
        "licence_no": HOUSEHOLD_REGISTER,
    }
    licence_prints = [b for k, b in events if k == "receipt.printed" and b["document"] == "licence"]
    assert licence_prints == [
        {
            "session_id": application["session_id"],
            "document": "licence",
            "reference": HOUSEHOLD_REGISTER,
            "outcome": "printed",
        }
    ]
    assert events[-1][0] == "session.ended" and events[-1][1]["reason"] == "card_removed"

    # The backend's session died with the card.
    def refused() -> bool:
        response = httpx.get(
            f"{backend.url}/api/v1/citizen/applications",
            headers={"Authorization": f"Bearer {token}"},
            auth=KioskAuth(enrolled.signer),  # type: ignore[attr-defined]
        )
        return response.status_code == 401

    assert wait_for(refused, 5)


def test_offline_the_application_is_sealed_to_the_backend(
    kiosk: KioskDriver, backend: Backend, enrolled: HttpBackendClient
) -> None:
    journey = kiosk.journey
    synced: list[bool] = []
    journey.sync_catalog(synced.append)
    assert kiosk.until(lambda: synced, 10)
    backend.stop()
    try:
        before = len(kiosk.outbox())
        kiosk.app.sim_action("card", "genuine")
        kiosk.wait_screen("home")
        assert kiosk.until(lambda: kiosk.app.root_widget.offline_text != "", 10)
        kiosk.shot("home-offline")
        journey.open_lookup()
        kiosk.wait_screen("lookup")
        assert kiosk.until(lambda: journey.notice == "lookup.offline", 10)
        journey.open_catalog()
        journey.choose_item("11110102000000100E2002001000")  # 社会保障卡补领
        journey.start_application()
        kiosk.wait_screen("apply")
        kiosk.press(kiosk.widget("apply", "submit"))
        kiosk.wait_screen("done")
        assert kiosk.until(lambda: journey.notice == "done.printed", 10)
        kiosk.shot("done-offline")
        assert "网络恢复后将自动上报" in kiosk.widget("done", "status").text
        journey.open_lookup()
        assert kiosk.until(lambda: journey.notice == "lookup.offline", 10)
        kiosk.pump(0.2)
        kiosk.shot("lookup-offline")
        assert any("待上报" in t for t in kiosk.texts())
        kiosk.app.sim_action("remove")
        kiosk.wait_screen("attract")
        application = dict(kiosk.new_events(before))["application.submitted"]
        assert "citizen_id" not in application
        key = load_sealing_key(backend.ca_dir, CA_PASSPHRASE)
        opened = json.loads(sealing.unseal(key, application["applicant_sealed"]))
        assert opened == {"id_number": ZHANG_SAN.id_number, "name": ZHANG_SAN.name}
    finally:
        backend.start()
