"""An enrolled kiosk for tests: a fleet CA, a one-time code, the real /api/v1/enrol.

Tests of kiosk-facing endpoints call :func:`enrol_test_kiosk` and pass
``auth=KioskAuth(signer)`` with their requests: the kiosk is enrolled exactly
as ``kioskctl enrol`` does it, so the signature checks are the production ones.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy.orm import Session

from backend.core.db import make_engine
from backend.services import enrolment as enrolment_service
from provisioning.ca import KEY_FILE, FleetCA, make_csr, new_key
from provisioning.request_signing import KioskSigner

CA_PASSPHRASE = "test-fleet-ca-passphrase-0123456789"


def fleet_ca(ca_dir: Path) -> FleetCA:
    """The fleet CA in ``ca_dir``, made on first use."""
    if (Path(ca_dir) / KEY_FILE).exists():
        return FleetCA.load(Path(ca_dir), CA_PASSPHRASE)
    return FleetCA.create(Path(ca_dir), CA_PASSPHRASE)


def new_enrolment_code(database_url: str, *, region_code: str, site: str) -> str:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            code = enrolment_service.create_code(
                session,
                site=site,
                region_code=region_code,
                ttl=timedelta(hours=1),
                created_by="tests",
            ).code
            session.commit()
    finally:
        engine.dispose()
    return code


def enrol_test_kiosk(
    client,
    database_url: str,
    ca_dir: Path,
    region_code: str = "110101",
    site: str = "东城区政务服务中心 1 楼",
) -> KioskSigner:
    """Enrol a new kiosk through ``client`` (a TestClient or an httpx.Client on the backend).

    The backend's settings must use ``ca_dir`` and ``FLEET_CA_PASSPHRASE`` must
    be :data:`CA_PASSPHRASE` (see the ``kiosk_ca`` fixture in tests/conftest.py).
    """
    fleet_ca(ca_dir)
    code = new_enrolment_code(database_url, region_code=region_code, site=site)
    key = new_key()
    response = client.post(
        "/api/v1/enrol", json={"code": code, "csr_pem": make_csr(key, "kiosk").decode()}
    )
    assert response.status_code == 201, response.text
    certificate = x509.load_pem_x509_certificate(response.json()["certificate_pem"].encode())
    return KioskSigner(key, certificate)


def write_identity(signer: KioskSigner, directory: Path) -> tuple[Path, Path]:
    """The signer's key and certificate as files, the way ``kioskctl enrol`` leaves them."""
    directory.mkdir(parents=True, exist_ok=True)
    key_path, cert_path = directory / "kiosk.key", directory / "kiosk.crt"
    key_path.write_bytes(
        signer.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    cert_path.write_bytes(signer.certificate.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path
