"""The kiosk's one door to the backend: signed requests, typed answers, one error tree.

httpx's transport seam (``MockTransport``) stands in for the network; what is
checked is what the backend would see (path, signature headers, bearer) and
what the kiosk makes of each kind of answer.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kiosk.backend_client import BackendRefused, HttpBackendClient, NoBackend, Offline
from provisioning.request_signing import HEADERS, KioskSigner


@pytest.fixture
def signer() -> KioskSigner:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-kiosk-01")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return KioskSigner(key, cert)


def client_with(handler, signer: KioskSigner) -> HttpBackendClient:  # type: ignore[no-untyped-def]
    return HttpBackendClient("http://backend.test", signer, transport=httpx.MockTransport(handler))


def test_catalog_is_signed_and_304_means_unchanged(signer: KioskSigner) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.headers.get("If-None-Match") == '"v1"':
            return httpx.Response(304)
        return httpx.Response(200, json={"version": "1", "items": []}, headers={"ETag": '"v1"'})

    client = client_with(handler, signer)
    fetch = client.fetch_catalog(None)
    assert fetch is not None and fetch.etag == '"v1"' and fetch.body["version"] == "1"
    assert client.fetch_catalog('"v1"') is None
    assert seen[0].url.path == "/api/v1/kiosk/catalog"
    assert all(header in seen[0].headers for header in HEADERS)


def test_citizen_calls_carry_the_session_token(signer: KioskSigner) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(
                201,
                json={
                    "token": "tok-1",
                    "expires_at": "2099-01-01T00:00:00Z",
                    "citizen": {
                        "id": "c1",
                        "name": "张三",
                        "id_number_masked": "110105********002X",
                        "phone_masked": None,
                    },
                },
            )
        assert request.headers["Authorization"] == "Bearer tok-1"
        return httpx.Response(200, json=[{"licence_no": "L1"}])

    client = client_with(handler, signer)
    session = client.open_session(
        "11010519491231002X", "张三", "resident_id", {"decision": "match"}
    )
    assert session.citizen_id == "c1" and "tok-1" not in repr(session)
    assert client.licences(session.token) == [{"licence_no": "L1"}]


def test_no_answer_or_a_5xx_is_offline_and_a_4xx_is_refused(signer: KioskSigner) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(Offline):
        client_with(down, signer).faq("社保")
    with pytest.raises(Offline):
        client_with(lambda r: httpx.Response(503), signer).faq("社保")
    with pytest.raises(BackendRefused) as refused:
        client_with(
            lambda r: httpx.Response(403, json={"detail": "face_not_matched"}), signer
        ).open_session("11010519491231002X", "张三", "resident_id", {})
    assert refused.value.status == 403 and refused.value.detail == "face_not_matched"


def test_an_unenrolled_kiosk_is_offline() -> None:
    with pytest.raises(Offline):
        NoBackend().fetch_catalog(None)
