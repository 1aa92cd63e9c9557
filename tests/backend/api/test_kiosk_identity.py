"""Kiosks authenticate their HTTPS calls with their enrolled certificate's key."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from backend.api.main import create_app
from backend.core.config import Settings
from backend.core.db import make_engine
from backend.services import enrolment as enrolment_service
from provisioning.request_signing import KioskAuth
from tests.kiosk_identity import enrol_test_kiosk, fleet_ca


def client_for(fleet_db_url: str, kiosk_ca: Path) -> TestClient:
    return TestClient(create_app(Settings(database_url=fleet_db_url, ca_dir=kiosk_ca)))


def test_an_enrolled_kiosk_is_known_by_its_signature(fleet_db_url: str, kiosk_ca: Path) -> None:
    with client_for(fleet_db_url, kiosk_ca) as client:
        signer = enrol_test_kiosk(client, fleet_db_url, kiosk_ca, region_code="110102")
        response = client.get("/api/v1/kiosk/me", auth=KioskAuth(signer))
        assert response.status_code == 200, response.text
        assert response.json() == {
            "kiosk_id": signer.kiosk_id,
            "site": "东城区政务服务中心 1 楼",
            "region_code": "110102",
        }


def test_unsigned_replayed_and_retired_requests_are_refused(
    fleet_db_url: str, kiosk_ca: Path
) -> None:
    with client_for(fleet_db_url, kiosk_ca) as client:
        signer = enrol_test_kiosk(client, fleet_db_url, kiosk_ca)
        unsigned = client.get("/api/v1/kiosk/me")
        assert unsigned.status_code == 401
        assert unsigned.json()["detail"]["reason"] == "unsigned"

        headers = signer.headers("GET", "/api/v1/kiosk/me", b"")
        assert client.get("/api/v1/kiosk/me", headers=headers).status_code == 200
        replay = client.get("/api/v1/kiosk/me", headers=headers)
        assert replay.status_code == 401
        assert replay.json()["detail"]["reason"] == "replayed"

        engine = make_engine(fleet_db_url)
        with Session(engine) as session:
            enrolment_service.retire(session, fleet_ca(kiosk_ca), signer.kiosk_id)
            session.commit()
        engine.dispose()
        retired = client.get("/api/v1/kiosk/me", auth=KioskAuth(signer))
        assert retired.status_code == 401
        assert retired.json()["detail"]["reason"] == "retired"


def test_a_certificate_of_another_fleet_is_refused(
    fleet_db_url: str, kiosk_ca: Path, tmp_path: Path
) -> None:
    with client_for(fleet_db_url, kiosk_ca) as client:
        enrol_test_kiosk(client, fleet_db_url, kiosk_ca)
        other_ca = tmp_path / "other-fleet-ca"
        with client_for(fleet_db_url, other_ca) as other_client:
            stranger = enrol_test_kiosk(other_client, fleet_db_url, other_ca)
        response = client.get("/api/v1/kiosk/me", auth=KioskAuth(stranger))
        assert response.status_code == 401
        assert response.json()["detail"]["reason"] == "foreign_certificate"
