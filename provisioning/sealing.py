"""Sealed boxes: a kiosk seals a citizen's identity so that only the backend can read it.

A kiosk that is offline when a citizen applies cannot ask the backend who the
citizen is, yet the application must reach the backend whole. The kiosk seals
the identity to the backend's public sealing key (from the last catalog sync):
an ephemeral X25519 key agreement, HKDF-SHA256, AES-256-GCM. Neither the
outbox on the kiosk's disk, nor the broker, nor a copy of the events table can
read it; only the holder of the backend's private key can.

Token format (base64url, no padding): ``b"S1" | ephemeral public key (32) |
nonce (12) | ciphertext with its tag``.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"S1"
INFO = b"govkiosk sealed box v1"


class SealError(Exception):
    """A token that is malformed, or sealed to another key, or changed in transit."""


def generate_key() -> X25519PrivateKey:
    return X25519PrivateKey.generate()


def public_key_pem(key: X25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def private_key_pem(key: X25519PrivateKey, passphrase: str) -> bytes:
    """The private key, PEM, encrypted with ``passphrase`` (kept like the CA's key)."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase.encode()),
    )


def load_private_key(pem: bytes, passphrase: str) -> X25519PrivateKey:
    key = serialization.load_pem_private_key(pem, password=passphrase.encode())
    if not isinstance(key, X25519PrivateKey):
        raise SealError("the sealing key is not an X25519 key")
    return key


def _derive(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=ephemeral + recipient, info=INFO).derive(
        shared
    )


def _raw(public: X25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def seal(recipient_public_key_pem: str | bytes, plaintext: bytes) -> str:
    """Seal ``plaintext`` so that only the holder of the matching private key can open it."""
    pem = (
        recipient_public_key_pem.encode()
        if isinstance(recipient_public_key_pem, str)
        else recipient_public_key_pem
    )
    recipient = serialization.load_pem_public_key(pem)
    if not isinstance(recipient, X25519PublicKey):
        raise SealError("the sealing public key is not an X25519 key")
    ephemeral = X25519PrivateKey.generate()
    ephemeral_raw = _raw(ephemeral.public_key())
    key = _derive(ephemeral.exchange(recipient), ephemeral_raw, _raw(recipient))
    nonce = os.urandom(12)
    box = MAGIC + ephemeral_raw + nonce + AESGCM(key).encrypt(nonce, plaintext, MAGIC)
    return base64.urlsafe_b64encode(box).rstrip(b"=").decode()


def unseal(private_key: X25519PrivateKey, token: str) -> bytes:
    """Open a sealed token; :class:`SealError` if it is malformed, foreign or changed."""
    try:
        box = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, binascii.Error) as err:
        raise SealError(f"not a sealed token: {err}") from err
    if len(box) < 2 + 32 + 12 + 16 or not box.startswith(MAGIC):
        raise SealError("not a sealed token (wrong version or too short)")
    ephemeral_raw, nonce, ciphertext = box[2:34], box[34:46], box[46:]
    ephemeral = X25519PublicKey.from_public_bytes(ephemeral_raw)
    key = _derive(private_key.exchange(ephemeral), ephemeral_raw, _raw(private_key.public_key()))
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, MAGIC)
    except InvalidTag as err:
        raise SealError("the sealed token was changed or sealed to another key") from err
