"""A kiosk's HTTPS calls, signed with the key of its enrolled certificate.

Why not TLS client certificates: the backend's ASGI server (uvicorn) does not
hand the peer certificate to the application, and a load balancer in front
would end TLS anyway. So the kiosk proves itself at the HTTP layer with the
same key pair the broker knows it by: no shared secret is baked into an image.

Each request carries four headers:

| header | value |
| --- | --- |
| ``X-Kiosk-Certificate`` | the kiosk's certificate, DER, base64 |
| ``X-Kiosk-Timestamp`` | Unix seconds when it was signed |
| ``X-Kiosk-Nonce`` | 32 hex digits, never reused |
| ``X-Kiosk-Signature`` | ECDSA P-256 / SHA-256 over the canonical text, base64 |

The canonical text binds the method, the path with its query, the time, the
nonce and the SHA-256 of the body, one per line after a version tag, so a
signature cannot be moved to another request. :func:`verify` checks what the
certificate alone can tell (issued by the fleet CA, in its validity period,
the signature, the clock); the backend adds what only it knows (the kiosk is
enrolled with this serial and not retired, the nonce is new).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import time
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

VERSION = "GOVKIOSK-REQUEST-V1"
CERTIFICATE = "X-Kiosk-Certificate"
TIMESTAMP = "X-Kiosk-Timestamp"
NONCE = "X-Kiosk-Nonce"
SIGNATURE = "X-Kiosk-Signature"
HEADERS = (CERTIFICATE, TIMESTAMP, NONCE, SIGNATURE)
MAX_SKEW_S = 300  # a kiosk's clock may be this far off; nonces must be kept this long and more


class SignatureRefused(Exception):
    """Why a signed request was refused; ``code`` is stable, the message is for a technician."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def canonical(method: str, target: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    """What is signed: ``target`` is the path with its query string, as sent."""
    digest = hashlib.sha256(body).hexdigest()
    return "\n".join((VERSION, method.upper(), target, timestamp, nonce, digest)).encode()


@dataclass(frozen=True)
class KioskSigner:
    """The kiosk's side: its private key and certificate, from ``kioskctl enrol``."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @classmethod
    def from_files(cls, key_path: Path | str, cert_path: Path | str) -> KioskSigner:
        key = serialization.load_pem_private_key(Path(key_path).read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{key_path} is not an EC private key")
        return cls(key, x509.load_pem_x509_certificate(Path(cert_path).read_bytes()))

    @property
    def kiosk_id(self) -> str:
        return _common_name(self.certificate)

    def headers(
        self, method: str, target: str, body: bytes, *, now: float | None = None
    ) -> dict[str, str]:
        timestamp = str(int(time.time() if now is None else now))
        nonce = secrets.token_hex(16)
        signature = self.key.sign(
            canonical(method, target, timestamp, nonce, body), ec.ECDSA(hashes.SHA256())
        )
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        return {
            CERTIFICATE: base64.b64encode(der).decode(),
            TIMESTAMP: timestamp,
            NONCE: nonce,
            SIGNATURE: base64.b64encode(signature).decode(),
        }


class KioskAuth(httpx.Auth):
    """httpx authentication: sign every request with the kiosk's key."""

    requires_request_body = True

    def __init__(self, signer: KioskSigner) -> None:
        self.signer = signer

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        target = request.url.raw_path.decode("ascii")
        request.headers.update(self.signer.headers(request.method, target, request.content))
        yield request


@dataclass(frozen=True)
class VerifiedRequest:
    kiosk_id: str
    serial_hex: str
    nonce: str
    signed_at: int


def verify(
    headers: Mapping[str, str],
    *,
    method: str,
    target: str,
    body: bytes,
    ca_certificate: x509.Certificate,
    now: float | None = None,
) -> VerifiedRequest:
    """Check a signed request against the fleet CA; raise :class:`SignatureRefused` if bad."""
    values = {name: headers.get(name) for name in HEADERS}
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise SignatureRefused(
            "unsigned", f"a kiosk request needs the headers {', '.join(missing)}"
        )
    try:
        certificate = x509.load_der_x509_certificate(base64.b64decode(values[CERTIFICATE] or ""))
        signature = base64.b64decode(values[SIGNATURE] or "", validate=True)
        stamp = values[TIMESTAMP] or ""
        if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):  # no 400-digit numbers
            raise ValueError(f"{TIMESTAMP} must be Unix seconds (at most 12 digits)")
        timestamp = int(stamp)
    except (ValueError, binascii.Error) as err:
        raise SignatureRefused("malformed", f"the signature headers are malformed: {err}") from err
    nonce = values[NONCE] or ""
    if len(nonce) != 32 or any(c not in "0123456789abcdef" for c in nonce):
        raise SignatureRefused("malformed", "the nonce must be 32 lower-case hex digits")
    try:
        certificate.verify_directly_issued_by(ca_certificate)
    except (ValueError, TypeError, InvalidSignature) as err:
        raise SignatureRefused(
            "foreign_certificate", "the certificate was not issued by this fleet's CA"
        ) from err
    now = time.time() if now is None else now
    if not (
        certificate.not_valid_before_utc.timestamp()
        <= now
        <= certificate.not_valid_after_utc.timestamp()
    ):
        raise SignatureRefused(
            "certificate_expired", "the kiosk's certificate is outside its validity period"
        )
    if abs(now - timestamp) > MAX_SKEW_S:
        raise SignatureRefused(
            "clock_skew",
            f"the request was signed {int(now - timestamp)} s from the backend's clock "
            f"(at most {MAX_SKEW_S} s): check the kiosk's time",
        )
    public_key = certificate.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        raise SignatureRefused("malformed", "the certificate does not hold an EC key")
    try:
        public_key.verify(
            signature,
            canonical(method, target, str(timestamp), nonce, body),
            ec.ECDSA(hashes.SHA256()),
        )
    except InvalidSignature as err:
        raise SignatureRefused("bad_signature", "the request's signature does not match") from err
    return VerifiedRequest(
        kiosk_id=_common_name(certificate),
        serial_hex=format(certificate.serial_number, "x"),
        nonce=nonce,
        signed_at=timestamp,
    )


def _common_name(certificate: x509.Certificate) -> str:
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not names:
        raise SignatureRefused("malformed", "the certificate has no common name")
    value = names[0].value
    return value if isinstance(value, str) else value.decode()
