"""The backend's own secrets for citizen data, kept beside the fleet CA's key.

Two files under ``FLEET_CA_DIR``, both encrypted at rest with the CA
passphrase (``provisioning.ca.ca_passphrase``: the development default only
with ``FLEET_ENVIRONMENT=development``), so a copy of the database alone
opens nothing:

- ``citizen-data.keys``: 96 random bytes, AES-GCM-encrypted under a key
  derived from the passphrase with scrypt. They split into the AES-GCM key
  for identity numbers and phone numbers at rest (also dead-letter payloads
  and application forms' personal fields), the HMAC key of their
  look-up columns, and the HMAC key that signs verification codes.
- ``sealing.key.pem``: the X25519 private key that kiosks seal an offline
  applicant's identity to (PKCS#8, encrypted like ``ca.key.pem``); its
  public half travels in the catalog sync.
- ``audit.keys``: the audit log's keys, sealed like ``citizen-data.keys``:
  HMAC-SHA256 keys by key id (the current one MACs new entries, older ones
  still verify theirs) and the Ed25519 key that signs audit checkpoints. The
  checkpoint key's public half is written beside it as
  ``audit-checkpoint.pub.pem`` (not secret: anyone may check a checkpoint).

Each file is made on first use and then only read; creation is atomic
(``os.link`` refuses to overwrite), so two processes starting together agree
on one key.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

DATA_KEYS_FILE = "citizen-data.keys"
SEALING_KEY_FILE = "sealing.key.pem"
AUDIT_KEYS_FILE = "audit.keys"
AUDIT_PUBLIC_KEY_FILE = "audit-checkpoint.pub.pem"


class KeyUnavailable(Exception):
    """A key file exists but cannot be opened (wrong passphrase or damaged)."""


@dataclass(frozen=True)
class DataKeys:
    encryption: bytes
    lookup: bytes
    signing: bytes

    def encrypt(self, plaintext: str) -> str:
        nonce = secrets.token_bytes(12)
        sealed = AESGCM(self.encryption).encrypt(nonce, plaintext.encode(), b"citizen-data-v1")
        return base64.urlsafe_b64encode(nonce + sealed).decode()

    def decrypt(self, token: str) -> str:
        raw = base64.urlsafe_b64decode(token.encode())
        return AESGCM(self.encryption).decrypt(raw[:12], raw[12:], b"citizen-data-v1").decode()

    def encrypt_bytes(self, data: bytes, purpose: str) -> bytes:
        """Nonce and AES-GCM ciphertext of ``data``, bound to ``purpose`` (its associated data)."""
        nonce = secrets.token_bytes(12)
        return nonce + AESGCM(self.encryption).encrypt(nonce, data, purpose.encode())

    def decrypt_bytes(self, sealed: bytes, purpose: str) -> bytes:
        return AESGCM(self.encryption).decrypt(sealed[:12], sealed[12:], purpose.encode())

    def lookup_hash(self, kind: str, value: str) -> str:
        """The keyed hash stored beside an encrypted value, to find it without decrypting."""
        return hmac.new(self.lookup, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()

    def sign(self, purpose: str, value: str) -> str:
        """A short signature (80 bits, base32) over ``value`` for ``purpose``."""
        digest = hmac.new(self.signing, f"{purpose}:{value}".encode(), hashlib.sha256).digest()
        return base64.b32encode(digest[:10]).decode()

    def verify(self, purpose: str, value: str, signature: str) -> bool:
        return hmac.compare_digest(self.sign(purpose, value), signature.upper())


def _kdf(salt: bytes, passphrase: str) -> bytes:
    return Scrypt(salt=salt, length=32, n=2**14, r=8, p=1).derive(passphrase.encode())


def _create_exclusively(path: Path, data: bytes) -> None:
    """Write ``path`` with mode 0600 unless it exists; a racing writer's file wins intact."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        os.unlink(tmp)


def _seal(passphrase: str, plaintext: bytes) -> bytes:
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    sealed = AESGCM(_kdf(salt, passphrase)).encrypt(nonce, plaintext, None)
    record = {
        "v": 1,
        "salt": base64.b64encode(salt).decode(),
        "nonce": base64.b64encode(nonce).decode(),
        "ciphertext": base64.b64encode(sealed).decode(),
    }
    return json.dumps(record).encode()


def _open(path: Path, passphrase: str) -> bytes:
    try:
        record = json.loads(path.read_bytes())
        return AESGCM(_kdf(base64.b64decode(record["salt"]), passphrase)).decrypt(
            base64.b64decode(record["nonce"]), base64.b64decode(record["ciphertext"]), None
        )
    except (InvalidTag, ValueError, KeyError) as err:
        raise KeyUnavailable(f"{path} cannot be opened with this passphrase") from err


@lru_cache(maxsize=8)
def load_data_keys(ca_dir: Path, passphrase: str) -> DataKeys:
    path = Path(ca_dir) / DATA_KEYS_FILE
    if not path.exists():
        _create_exclusively(path, _seal(passphrase, secrets.token_bytes(96)))
    raw = _open(path, passphrase)
    return DataKeys(encryption=raw[:32], lookup=raw[32:64], signing=raw[64:96])


@lru_cache(maxsize=8)
def load_sealing_key(ca_dir: Path, passphrase: str) -> X25519PrivateKey:
    path = Path(ca_dir) / SEALING_KEY_FILE
    if not path.exists():
        pem = X25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(passphrase.encode()),
        )
        _create_exclusively(path, pem)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=passphrase.encode())
    except (ValueError, TypeError) as err:
        raise KeyUnavailable(f"{path} cannot be opened with this passphrase") from err
    if not isinstance(key, X25519PrivateKey):
        raise KeyUnavailable(f"{path} is not an X25519 key")
    return key


def sealing_public_key_pem(key: X25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@dataclass(frozen=True)
class AuditKeys:
    """The audit log's MAC keys by id (``current`` MACs new entries) and its checkpoint signer."""

    current: str
    macs: dict[str, bytes]
    checkpoint: Ed25519PrivateKey

    def mac_key(self, key_id: str) -> bytes | None:
        return self.macs.get(key_id)

    @property
    def checkpoint_public(self) -> Ed25519PublicKey:
        return self.checkpoint.public_key()

    @property
    def signer(self) -> str:
        """The checkpoint key's id: the start of the SHA-256 of its raw public key."""
        return public_key_id(self.checkpoint_public)

    def public_pem(self) -> str:
        return self.checkpoint_public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()


def public_key_id(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _mac_key_id(key: bytes) -> str:
    """A key's id, recorded on every entry it MACs: a digest of the key, never the key."""
    return "a" + hashlib.sha256(b"govkiosk-audit-key-id\x00" + key).hexdigest()[:15]


def _audit_plaintext(current: str, macs: dict[str, bytes], checkpoint: bytes) -> bytes:
    return json.dumps(
        {
            "current": current,
            "macs": {kid: base64.b64encode(key).decode() for kid, key in macs.items()},
            "checkpoint": base64.b64encode(checkpoint).decode(),
        }
    ).encode()


def _read_audit_keys(path: Path, passphrase: str) -> AuditKeys:
    try:
        record = json.loads(_open(path, passphrase))
        macs = {kid: base64.b64decode(key) for kid, key in record["macs"].items()}
        checkpoint = Ed25519PrivateKey.from_private_bytes(base64.b64decode(record["checkpoint"]))
        if record["current"] not in macs:
            raise KeyError(record["current"])
    except (ValueError, KeyError, TypeError) as err:
        raise KeyUnavailable(f"{path} is damaged") from err
    return AuditKeys(current=record["current"], macs=macs, checkpoint=checkpoint)


def _publish_public_key(ca_dir: Path, keys: AuditKeys) -> None:
    path = Path(ca_dir) / AUDIT_PUBLIC_KEY_FILE
    if not path.exists() or path.read_text() != keys.public_pem():
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(keys.public_pem())
        tmp.chmod(0o644)
        os.replace(tmp, path)


@lru_cache(maxsize=8)
def load_audit_keys(ca_dir: Path, passphrase: str) -> AuditKeys:
    """The audit keys, made on first use (one HMAC key, one Ed25519 checkpoint key)."""
    path = Path(ca_dir) / AUDIT_KEYS_FILE
    if not path.exists():
        mac = secrets.token_bytes(32)
        signer = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        plaintext = _audit_plaintext(_mac_key_id(mac), {_mac_key_id(mac): mac}, signer)
        _create_exclusively(path, _seal(passphrase, plaintext))
    keys = _read_audit_keys(path, passphrase)
    _publish_public_key(ca_dir, keys)
    return keys


def rotate_audit_key(ca_dir: Path, passphrase: str) -> str:
    """Add a new HMAC key and make it current; older keys stay to verify older entries.

    Running processes keep MACing with the key they loaded until restarted,
    which is harmless: every key stays valid for verification.
    """
    path = Path(ca_dir) / AUDIT_KEYS_FILE
    load_audit_keys.cache_clear()  # read the file as it is now, not as this process saw it
    keys = load_audit_keys(ca_dir, passphrase)
    mac = secrets.token_bytes(32)
    kid = _mac_key_id(mac)
    signer = keys.checkpoint.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    sealed = _seal(passphrase, _audit_plaintext(kid, {**keys.macs, kid: mac}, signer))
    tmp = path.with_name(f".{path.name}.rotate.{os.getpid()}")
    tmp.write_bytes(sealed)
    tmp.chmod(0o600)
    os.replace(tmp, path)
    load_audit_keys.cache_clear()
    return kid
