"""The fleet CA: one small certificate authority, kept in a folder, for the broker's identities.

Every kiosk, the backend's ingest and the broker itself hold a certificate
signed by this CA. Mosquitto knows a kiosk by its certificate's CN (its kiosk
id, ``use_identity_as_username``), so the CA is what decides who is who.

Why EC P-256 and not RSA: keys and signatures are small (a kiosk makes its
key pair on modest hardware in milliseconds; an RSA-3072 key takes a second
or more), every TLS stack we meet speaks it (OpenSSL under Mosquitto, Python's
``ssl`` under paho, TLS 1.2 and 1.3), and its strength (~128 bits) matches
RSA-3072. RSA CSRs (2048 bits or more) are still accepted from devices whose
secure element only does RSA.

The folder holds:

- ``ca.key.pem``: the CA's private key, PKCS#8 encrypted with the passphrase
  (``BestAvailableEncryption``), mode 0600. It is never written in clear.
- ``ca.cert.pem``: the CA certificate (public; the broker's ``cafile``).
- ``index.json``: every certificate issued, by serial (hex), with its CN,
  kind, validity and, once revoked, when and why. Written atomically.
- ``crl.pem``: the current certificate revocation list, rewritten on each
  revocation (the broker's ``crlfile``).

Errors: everything this module refuses is a ``CAError`` (``BadPassphrase``,
``BadRequest``, ``UnknownSerial``), so a caller (an enrolment endpoint, a
command) can turn it into a clean message; ``cryptography``'s exceptions do not
leak out.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import ipaddress
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mqtt.contract.topics import valid_kiosk_id

KEY_FILE = "ca.key.pem"
CERT_FILE = "ca.cert.pem"
INDEX_FILE = "index.json"
CRL_FILE = "crl.pem"

CA_DAYS = 3650
DEVICE_DAYS = 825  # re-enrol within a little over two years (the CA/B forum's old ceiling)
SERVICE_DAYS = 825
CRL_DAYS = 30  # a CRL's nextUpdate: regenerate at least this often (install does it daily)
MIN_RSA_BITS = 2048

# Outside development the passphrase must come from the environment and be long enough.
PASSPHRASE_ENV = "FLEET_CA_PASSPHRASE"
ENVIRONMENT_ENV = "FLEET_ENVIRONMENT"
DEV_PASSPHRASE = "development-only-ca-passphrase"
MIN_PASSPHRASE_LEN = 16

# Service identities contain a dot, which no kiosk id can (``[a-z0-9][a-z0-9-]{2,63}``):
# a kiosk can never be issued a certificate that the broker would take for ingest.
SERVICE_CN_PATTERN = re.compile(r"fleet\.[a-z0-9][a-z0-9.-]{1,60}")
INGEST_CN = "fleet.ingest"
WEB_CN = "fleet.web"  # the web process: publishes remote commands only
BROKER_CN = "fleet.broker"
BACKEND_CN = "fleet.backend"

Kind = Literal["device", "client", "server"]


class CAError(Exception):
    """Base of everything the CA refuses. ``CAError`` -> ``BadPassphrase | BadRequest | UnknownSerial``."""


class BadPassphrase(CAError):
    """The passphrase does not open the CA key, or is not acceptable here."""


class BadRequest(CAError):
    """A CSR, kiosk id or host name that the CA will not sign."""


class UnknownSerial(CAError):
    """No certificate with this serial was issued by this CA."""


def ca_passphrase(environ: Mapping[str, str] | None = None) -> str:
    """The CA passphrase from ``FLEET_CA_PASSPHRASE``.

    The built-in development passphrase (used when the variable is unset) is
    accepted only with ``FLEET_ENVIRONMENT=development``; anywhere else a
    missing, default or short passphrase is refused, so a production CA key is
    never encrypted with a value that is printed in this file.
    """
    env = os.environ if environ is None else environ
    development = env.get(ENVIRONMENT_ENV, "production") == "development"
    value = env.get(PASSPHRASE_ENV, "")
    if development:
        return value or DEV_PASSPHRASE
    if not value:
        raise BadPassphrase(f"{PASSPHRASE_ENV} is not set (required outside development)")
    if value == DEV_PASSPHRASE:
        raise BadPassphrase(f"{PASSPHRASE_ENV} is the development default; set a secret one")
    if len(value) < MIN_PASSPHRASE_LEN:
        raise BadPassphrase(f"{PASSPHRASE_ENV} must be at least {MIN_PASSPHRASE_LEN} characters")
    return value


@dataclass(frozen=True)
class Issued:
    """One certificate the CA issued, as recorded in ``index.json``."""

    serial: int
    common_name: str
    kind: Kind
    not_before: dt.datetime
    not_after: dt.datetime
    revoked_at: dt.datetime | None = None
    reason: str | None = None

    @property
    def serial_hex(self) -> str:
        return format(self.serial, "x")

    def to_json(self) -> dict[str, Any]:
        return {
            "cn": self.common_name,
            "kind": self.kind,
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, serial_hex: str, data: Mapping[str, Any]) -> Issued:
        revoked = data.get("revoked_at")
        return cls(
            serial=int(serial_hex, 16),
            common_name=data["cn"],
            kind=data["kind"],
            not_before=dt.datetime.fromisoformat(data["not_before"]),
            not_after=dt.datetime.fromisoformat(data["not_after"]),
            revoked_at=dt.datetime.fromisoformat(revoked) if revoked else None,
            reason=data.get("reason"),
        )


@dataclass(frozen=True)
class SignedCert:
    """A certificate just issued: its serial and PEM (and the key, when the CA made it)."""

    serial: int
    cert_pem: bytes
    key_pem: bytes | None = None


def write_private(path: Path, data: bytes) -> None:
    """Write a secret file atomically, 0600 from its first byte (never briefly world-readable)."""
    _atomic_write(path, data, 0o600)


def _atomic_write(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def new_key() -> ec.EllipticCurvePrivateKey:
    """A fresh P-256 key (see the module docstring for why P-256)."""
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: ec.EllipticCurvePrivateKey, passphrase: str | None = None) -> bytes:
    """PKCS#8 PEM, encrypted when a passphrase is given (Mosquitto's and paho's keys are not)."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase.encode())
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def make_csr(key: ec.EllipticCurvePrivateKey, common_name: str) -> bytes:
    """A certificate signing request, as a kiosk makes one at enrolment (and the tests)."""
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM)


class FleetCA:
    """The CA in ``directory``; create it once with ``create``, then ``load`` it."""

    def __init__(
        self, directory: Path, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate
    ) -> None:
        self.directory = Path(directory)
        self._key = key
        self.cert = cert

    # life cycle --------------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        directory: Path,
        passphrase: str,
        *,
        name: str = "govkiosk fleet CA",
        days: int = CA_DAYS,
    ) -> FleetCA:
        """Make a new CA in ``directory`` (refused if one is there: a CA is never overwritten)."""
        directory = Path(directory)
        if (directory / KEY_FILE).exists():
            raise CAError(f"a CA already exists in {directory}; refusing to overwrite it")
        if not passphrase:
            raise BadPassphrase("the CA key needs a passphrase")
        directory.mkdir(parents=True, exist_ok=True)
        directory.chmod(0o700)
        key = new_key()
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "govkiosk"),
                x509.NameAttribute(NameOID.COMMON_NAME, name),
            ]
        )
        now = _now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        write_private(directory / KEY_FILE, key_pem(key, passphrase))
        _atomic_write(directory / CERT_FILE, cert.public_bytes(serialization.Encoding.PEM), 0o644)
        ca = cls(directory, key, cert)
        ca._write_index({})
        ca.write_crl()
        return ca

    @classmethod
    def load(cls, directory: Path, passphrase: str) -> FleetCA:
        """Open the CA in ``directory``; ``BadPassphrase`` if the passphrase is wrong."""
        directory = Path(directory)
        try:
            key_bytes = (directory / KEY_FILE).read_bytes()
            cert = x509.load_pem_x509_certificate((directory / CERT_FILE).read_bytes())
        except FileNotFoundError as err:
            raise CAError(f"no CA in {directory} ({err.filename} is missing)") from err
        try:
            key = serialization.load_pem_private_key(key_bytes, passphrase.encode())
        except (ValueError, TypeError) as err:
            raise BadPassphrase(f"the passphrase does not open {directory / KEY_FILE}") from err
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise CAError(f"{directory / KEY_FILE} is not an EC key")
        return cls(directory, key, cert)

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def cert_path(self) -> Path:
        return self.directory / CERT_FILE

    @property
    def crl_path(self) -> Path:
        return self.directory / CRL_FILE

    # issuing -----------------------------------------------------------------------------------
    def sign_csr(self, csr_pem: bytes | str, kiosk_id: str, days: int = DEVICE_DAYS) -> SignedCert:
        """Sign a kiosk's CSR as its device certificate, with CN = ``kiosk_id``.

        The CN comes from the caller (the enrolment code decides which kiosk
        this is), never from the CSR's subject, which the kiosk chose. The CSR
        must carry a valid self-signature (proof that the requester holds the
        key) and a P-256/P-384 or RSA >= 2048 key.
        """
        if not valid_kiosk_id(kiosk_id):
            raise BadRequest(f"kiosk id {kiosk_id!r} does not match [a-z0-9][a-z0-9-]{{2,63}}")
        try:
            csr = x509.load_pem_x509_csr(csr_pem.encode() if isinstance(csr_pem, str) else csr_pem)
        except ValueError as err:
            raise BadRequest(f"not a PEM certificate signing request: {err}") from err
        try:
            if not csr.is_signature_valid:
                raise BadRequest("the CSR's signature is not valid")
        except InvalidSignature as err:  # pragma: no cover - older cryptography raised
            raise BadRequest("the CSR's signature is not valid") from err
        public_key = csr.public_key()
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            if public_key.curve.name not in ("secp256r1", "secp384r1"):
                raise BadRequest(f"EC curve {public_key.curve.name} is not accepted")
        elif isinstance(public_key, rsa.RSAPublicKey):
            if public_key.key_size < MIN_RSA_BITS:
                raise BadRequest(f"RSA keys need at least {MIN_RSA_BITS} bits")
        else:
            raise BadRequest("only EC (P-256, P-384) and RSA keys are accepted")
        cert = self._issue(public_key, kiosk_id, "device", days)
        return SignedCert(cert.serial_number, cert.public_bytes(serialization.Encoding.PEM))

    def issue_client(self, common_name: str = INGEST_CN, days: int = SERVICE_DAYS) -> SignedCert:
        """A key pair and client certificate for a backend service (ingest).

        Service names must look like ``fleet.<name>``: the dot keeps them apart
        from every possible kiosk id.
        """
        if not SERVICE_CN_PATTERN.fullmatch(common_name):
            raise BadRequest(f"service name {common_name!r} must match fleet.<name>")
        key = new_key()
        cert = self._issue(key.public_key(), common_name, "client", days)
        return SignedCert(
            cert.serial_number, cert.public_bytes(serialization.Encoding.PEM), key_pem(key)
        )

    def issue_server(
        self,
        hosts: Iterable[str] = ("127.0.0.1", "localhost"),
        days: int = SERVICE_DAYS,
        common_name: str = BROKER_CN,
    ) -> SignedCert:
        """A key pair and server certificate (the broker's, the backend's HTTPS); hosts are SANs."""
        names: list[x509.GeneralName] = []
        for host in dict.fromkeys(hosts):
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                if not re.fullmatch(r"[A-Za-z0-9*]([A-Za-z0-9.-]{0,252})", host):
                    raise BadRequest(f"{host!r} is not a host name or IP address") from None
                names.append(x509.DNSName(host))
        if not names:
            raise BadRequest("a server certificate needs at least one host")
        key = new_key()
        cert = self._issue(key.public_key(), common_name, "server", days, san=names)
        return SignedCert(
            cert.serial_number, cert.public_bytes(serialization.Encoding.PEM), key_pem(key)
        )

    def _issue(
        self,
        public_key: Any,
        common_name: str,
        kind: Kind,
        days: int,
        *,
        san: list[x509.GeneralName] | None = None,
    ) -> x509.Certificate:
        if not 1 <= days <= CA_DAYS:
            raise BadRequest(f"validity must be 1..{CA_DAYS} days")
        now = _now()
        not_after = min(now + dt.timedelta(days=days), self.cert.not_valid_after_utc)
        usage = (
            ExtendedKeyUsageOID.SERVER_AUTH if kind == "server" else ExtendedKeyUsageOID.CLIENT_AUTH
        )
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self.cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))  # tolerate a little clock skew
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=isinstance(public_key, rsa.RSAPublicKey),
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), False
            )
        )
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        cert = builder.sign(self._key, hashes.SHA256())
        with self._locked():
            index = self._read_index()
            entry = Issued(cert.serial_number, common_name, kind, now, not_after)
            index[entry.serial_hex] = entry.to_json()
            self._write_index(index)
        return cert

    # revocation --------------------------------------------------------------------------------
    def revoke(self, serial: int | str, reason: str = "retired") -> Issued:
        """Mark a certificate revoked and rewrite ``crl.pem``; revoking twice is harmless."""
        serial_hex = _serial_hex(serial)
        with self._locked():
            index = self._read_index()
            if serial_hex not in index:
                raise UnknownSerial(
                    f"no certificate with serial {serial_hex} was issued by this CA"
                )
            if not index[serial_hex].get("revoked_at"):
                index[serial_hex]["revoked_at"] = _now().isoformat()
                index[serial_hex]["reason"] = reason
                self._write_index(index)
            self.write_crl()
        return Issued.from_json(serial_hex, index[serial_hex])

    def revoke_kiosk(self, kiosk_id: str, reason: str = "retired") -> list[Issued]:
        """Revoke every unrevoked device certificate of one kiosk (retiring it)."""
        return [
            self.revoke(entry.serial, reason)
            for entry in self.issued()
            if entry.kind == "device" and entry.common_name == kiosk_id and not entry.revoked_at
        ]

    def issued(self) -> list[Issued]:
        return [Issued.from_json(s, d) for s, d in self._read_index().items()]

    def get(self, serial: int | str) -> Issued:
        serial_hex = _serial_hex(serial)
        data = self._read_index().get(serial_hex)
        if data is None:
            raise UnknownSerial(f"no certificate with serial {serial_hex} was issued by this CA")
        return Issued.from_json(serial_hex, data)

    def crl_pem(self, days: int = CRL_DAYS) -> bytes:
        """A freshly signed CRL (PEM) listing every revoked serial, valid ``days``."""
        now = _now()
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.cert.subject)
            .last_update(now - dt.timedelta(minutes=5))
            .next_update(now + dt.timedelta(days=days))
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), False
            )
        )
        for entry in self.issued():
            if entry.revoked_at is not None:
                builder = builder.add_revoked_certificate(
                    x509.RevokedCertificateBuilder()
                    .serial_number(entry.serial)
                    .revocation_date(entry.revoked_at)
                    .build()
                )
        crl = builder.sign(self._key, hashes.SHA256())
        return crl.public_bytes(serialization.Encoding.PEM)

    def write_crl(self, path: Path | None = None) -> Path:
        """Rewrite the CRL file atomically (the broker then needs a reload; see broker.py)."""
        target = Path(path) if path else self.crl_path
        _atomic_write(target, self.crl_pem(), 0o644)
        return target

    # index -------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialise index updates across processes (two enrolments at once must not lose one)."""
        with open(self.directory / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read_index(self) -> dict[str, dict[str, Any]]:
        path = self.directory / INDEX_FILE
        if not path.exists():
            return {}
        return json.loads(path.read_text(encoding="utf-8"))["certificates"]

    def _write_index(self, index: Mapping[str, Any]) -> None:
        text = json.dumps({"version": 1, "certificates": index}, indent=2, sort_keys=True)
        _atomic_write(self.directory / INDEX_FILE, text.encode() + b"\n", 0o600)


def _serial_hex(serial: int | str) -> str:
    if isinstance(serial, int):
        return format(serial, "x")
    try:
        return format(int(serial, 16), "x")
    except ValueError as err:
        raise UnknownSerial(f"{serial!r} is not a hexadecimal serial") from err
