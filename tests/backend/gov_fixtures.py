"""Fixtures for the government-service tests: a backend with the demo data, citizens' tokens.

Import the fixtures a test module needs from here (``from tests.backend.gov_fixtures
import gov_api, ...``). The demo data is the real ``data/`` folder, loaded by the
same function as ``fleet-backend load-demo``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backend.api.main import create_app
from backend.core.config import Settings
from backend.core.db import make_engine, make_sessionmaker
from backend.gov.keys import DataKeys, load_data_keys
from backend.gov.providers import DevNotificationProvider, DevSmsProvider
from backend.services import tokens
from backend.services.demo_data import load_demo
from provisioning.request_signing import KioskAuth
from tests.conftest import REPO
from tests.kiosk_identity import CA_PASSPHRASE, enrol_test_kiosk

DATA = REPO / "data"
BINDING_CODE = re.compile(r"验证码(\d{6})，用于将手机")

# data/citizens/citizens.json
ZHANG_SAN = {
    "id": "7b0c0a46-0b8f-4d3e-9d1e-1c2f3a4b5c01",
    "name": "张三",
    "id_number": "11010519491231002X",
    "phone": "13800138000",
}
WANG_XIAOHONG = {
    "id": "7b0c0a46-0b8f-4d3e-9d1e-1c2f3a4b5c03",
    "name": "王小红",
    "id_number": "110102198805120246",
    "phone": "13700137000",
}
ZHAO_MIN = {
    "id": "7b0c0a46-0b8f-4d3e-9d1e-1c2f3a4b5c05",
    "name": "赵敏",
    "id_number": "110102199501010421",
    "phone": "13500135000",
}
SSC_REISSUE = "11110102000000100E2002001000"  # 社会保障卡补领: 秒批 on a valid RIC e-licence
ID_REISSUE = "11110102000000000Q2001002000"  # 居民身份证补领: reviewed by a clerk
MARRIAGE = "11110102000000400F0705001000"  # 内地居民结婚登记: on site only, not online


@dataclass
class Gov:
    client: TestClient
    settings: Settings
    keys: DataKeys
    database_url: str
    ca_dir: Path

    @property
    def sms(self) -> DevSmsProvider:
        return DevSmsProvider(self.settings.dev_outbox_dir)

    @property
    def notices(self) -> DevNotificationProvider:
        return DevNotificationProvider(self.settings.dev_outbox_dir)

    def sessions(self):
        return self.client.app.state.sessions

    def phone_login(self, phone: str) -> dict[str, str]:
        """Log ``phone`` in to the mini-app by SMS code, unbound; auth headers."""
        sent = self.client.post("/api/v1/app/auth/sms-code", json={"phone": phone})
        assert sent.status_code == 202, sent.text
        code = self.sms.latest_code(phone)
        login = self.client.post("/api/v1/app/auth/login", json={"phone": phone, "code": code})
        assert login.status_code == 200, login.text
        return {"Authorization": f"Bearer {login.json()['token']}"}

    def binding_code(self, registered_phone: str) -> str | None:
        """The newest binding code the registered number received (read off its SMS)."""
        codes = [m for t in self.sms.texts(registered_phone) for m in BINDING_CODE.findall(t)]
        return codes[-1] if codes else None

    def bind_by_code(self, headers: dict[str, str], person: dict[str, str]) -> dict[str, object]:
        """Bind the logged-in phone to ``person`` with a code sent to their registered number."""
        who = {"name": person["name"], "id_number": person["id_number"]}
        sent = self.client.post("/api/v1/app/real-name/sms-code", json=who, headers=headers)
        assert sent.status_code == 202, sent.text
        code = self.binding_code(person["phone"])
        done = self.client.post(
            "/api/v1/app/real-name/confirm",
            json={"challenge_id": sent.json()["challenge_id"], "code": code},
            headers=headers,
        )
        assert done.status_code == 200, done.text
        return done.json()

    def app_login(self, person: dict[str, str], *, bind: bool = True) -> dict[str, str]:
        """Log ``person`` in to the mini-app with their registered number (and bind: the log-in
        proved that number, so name and identity number then bind at once); auth headers."""
        headers = self.phone_login(person["phone"])
        if bind:
            bound = self.client.post(
                "/api/v1/app/real-name",
                json={"name": person["name"], "id_number": person["id_number"]},
                headers=headers,
            )
            assert bound.status_code == 200, bound.text
            assert bound.json()["bound"] and bound.json()["proof"] == "login_phone", bound.text
        return headers

    def reviewer(self, role: str = "reviewer") -> dict[str, str]:
        with self.sessions().begin() as session:
            token = tokens.create_token(session, role=role, name=f"test-{role}")
        return {"Authorization": f"Bearer {token}"}

    def kiosk(self, region_code: str = "110102") -> KioskAuth:
        signer = enrol_test_kiosk(self.client, self.database_url, self.ca_dir, region_code)
        return KioskAuth(signer)

    def kiosk_session(self, auth: KioskAuth, person: dict[str, str]) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.open_kiosk_session(auth, person)['token']}"}

    def open_kiosk_session(self, auth: KioskAuth, person: dict[str, str]) -> dict[str, Any]:
        """The kiosk vouches for ``person`` (card and face): the backend's whole answer."""
        response = self.client.post(
            "/api/v1/kiosk/citizen-sessions",
            json={
                "id_number": person["id_number"],
                "name": person["name"],
                "card_type": "resident_id",
                "face": {"decision": "match", "distance": 0.31, "liveness": "passed"},
            },
            auth=auth,
        )
        assert response.status_code == 201, response.text
        return response.json()


def make_gov(database_url: str, ca_dir: Path, tmp_path: Path, **overrides: object) -> Gov:
    settings = Settings(
        database_url=database_url,
        ca_dir=ca_dir,
        dev_outbox_dir=tmp_path / "outbox",
        public_base_url="https://zwfw.example.gov.cn",
        **{"face_check": "sandbox", **overrides},
    )
    keys = load_data_keys(ca_dir, CA_PASSPHRASE)
    engine = make_engine(database_url)
    with make_sessionmaker(engine).begin() as session:
        load_demo(session, keys, DATA)
    engine.dispose()
    return Gov(TestClient(create_app(settings)), settings, keys, database_url, ca_dir)


@pytest.fixture
def gov(fleet_db_url: str, kiosk_ca: Path, tmp_path: Path) -> Iterator[Gov]:
    """The backend with the demo catalog and citizens, on SQLite and PostgreSQL."""
    g = make_gov(fleet_db_url, kiosk_ca, tmp_path)
    with g.client:
        yield g
