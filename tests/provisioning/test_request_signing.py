"""Signed kiosk requests: what :func:`verify` accepts and what it refuses, and why."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from provisioning.ca import FleetCA, make_csr, new_key
from provisioning.request_signing import (
    NONCE,
    SIGNATURE,
    TIMESTAMP,
    KioskAuth,
    KioskSigner,
    SignatureRefused,
    verify,
)

PASS = "test-passphrase-for-signing-0123"


@pytest.fixture
def ca(tmp_path: Path) -> FleetCA:
    return FleetCA.create(tmp_path / "ca", PASS)


def signer_from(ca: FleetCA, kiosk_id: str = "k110101-0001") -> KioskSigner:
    from cryptography import x509

    key = new_key()
    signed = ca.sign_csr(make_csr(key, "ignored"), kiosk_id)
    return KioskSigner(key, x509.load_pem_x509_certificate(signed.cert_pem))


def refusal(ca: FleetCA, headers: dict[str, str], **overrides: object) -> str:
    request = {"method": "POST", "target": "/api/v1/x?a=1", "body": b'{"a":1}'} | overrides
    with pytest.raises(SignatureRefused) as caught:
        verify(headers, ca_certificate=ca.cert, **request)  # type: ignore[arg-type]
    return caught.value.code


def test_a_signed_request_names_its_kiosk(ca: FleetCA) -> None:
    signer = signer_from(ca)
    headers = signer.headers("POST", "/api/v1/x?a=1", b'{"a":1}')
    verified = verify(
        headers, method="POST", target="/api/v1/x?a=1", body=b'{"a":1}', ca_certificate=ca.cert
    )
    assert verified.kiosk_id == "k110101-0001"
    assert verified.serial_hex == format(signer.certificate.serial_number, "x")


def test_a_signature_cannot_be_moved_to_another_request(ca: FleetCA) -> None:
    headers = signer_from(ca).headers("POST", "/api/v1/x?a=1", b'{"a":1}')
    assert refusal(ca, headers, body=b'{"a":2}') == "bad_signature"
    assert refusal(ca, headers, target="/api/v1/x?a=2") == "bad_signature"
    assert refusal(ca, headers, method="DELETE") == "bad_signature"
    assert refusal(ca, headers | {NONCE: "0" * 32}) == "bad_signature"


def test_unsigned_malformed_foreign_and_stale_requests_are_refused(
    ca: FleetCA, tmp_path: Path
) -> None:
    signer = signer_from(ca)
    good = signer.headers("POST", "/api/v1/x?a=1", b'{"a":1}')
    assert refusal(ca, {}) == "unsigned"
    assert refusal(ca, good | {SIGNATURE: "not base64!"}) == "malformed"
    assert refusal(ca, good | {TIMESTAMP: "yesterday"}) == "malformed"
    assert refusal(ca, good | {NONCE: "short"}) == "malformed"
    foreign = signer_from(FleetCA.create(tmp_path / "other-ca", PASS))
    assert (
        refusal(ca, foreign.headers("POST", "/api/v1/x?a=1", b'{"a":1}')) == "foreign_certificate"
    )
    stale = signer.headers("POST", "/api/v1/x?a=1", b'{"a":1}', now=time.time() - 3600)
    assert refusal(ca, stale) == "clock_skew"


def test_httpx_auth_signs_the_path_query_and_body_as_sent(ca: FleetCA) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    signer = signer_from(ca)
    with httpx.Client(
        transport=httpx.MockTransport(handler),
        base_url="https://fleet.example",
        auth=KioskAuth(signer),
    ) as client:
        client.post("/api/v1/kiosk/citizen-sessions?x=%E4%B8%AD", json={"name": "张三"})
    request = seen[0]
    verified = verify(
        request.headers,
        method="POST",
        target="/api/v1/kiosk/citizen-sessions?x=%E4%B8%AD",
        body=request.content,
        ca_certificate=ca.cert,
    )
    assert verified.kiosk_id == signer.kiosk_id
