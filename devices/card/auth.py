"""Card authenticity: the issuer's certificate for each card, and the card's own signature.

Why a challenge-response and not just a signature over the files: a copy of
the files (a clone) must not pass, so the card has to prove it holds a secret
that never leaves it. Why asymmetric (as ICAO 9303 Active Authentication and
EMV DDA): the verifier must hold nothing that lets it answer for a card. With
per-card keys derived from an issuer master key, every kiosk held that master
key and could have made any card's answer, so an answer proved nothing to a
third party (the backend). Now:

- each card holds its own Ed25519 private key, made at personalisation and
  never readable;
- the issuer signs a card certificate (``CardCertificate``) binding a label,
  the card serial, the holder's identity number, SHA-256 of the holder file,
  SHA-256 of the photo file and the card's public key;
- INTERNAL AUTHENTICATE answers with the card's signature over
  ``auth_message(challenge, serial, holder digest, photo digest)``.

A verifier needs only the issuer's public key (``IssuerPublicKey``): it checks
the certificate, then the card's signature, then that the certificate's
digests are those of the files it read. The issuer's private key
(``IssuerSigningKey``) stays with the issuer: personalisation, and here the
published demo key for simulators, training cards and tests.

``CardProof`` is one answer of a card, with the certificate fields needed to
check it later and elsewhere (the backend, for an application made offline);
``verify_card_proof`` is that check. The proof never carries the identity
number: the verifier brings it (the backend opens it from the sealed
applicant), and the certificate signature only holds for the right one. See
SPEC.md, "Authentication".

    IssuerSigningKey   issuer side: generate, demo(), certify(...)
    IssuerPublicKey    verifier side: from_hex, demo(), is_demo, hex(), verify_certificate
    CardCertificate    the signed fields; signed_message(); verify(issuer)
    CardProof          one answer, to_wire() / from_wire()
    verify_card_proof  raise CardNotAuthentic(reason=...) unless the proof checks out
    new_challenge, auth_message, auth_message_from_digests
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass, replace
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from devices.errors import CardNotAuthentic

logger = logging.getLogger(__name__)

CERTIFICATE_LABEL = b"govkiosk citizen-card certificate v1"
# v1 was the HMAC of the symmetric scheme; the label keeps the two apart for good.
AUTH_LABEL = b"govkiosk citizen-card auth v2"
CHALLENGE_LENGTH = 16
DIGEST_LENGTH = 32
PUBLIC_KEY_LENGTH = 32  # Ed25519, raw
SIGNATURE_LENGTH = 64  # Ed25519
MAX_SERIAL_LENGTH = 16
_HEX_DIGITS = frozenset("0123456789abcdef")

# Published on purpose: for simulators, training cards and tests only. Anyone can
# sign card certificates with it, so a kiosk or backend that trusts the matching
# public key accepts cards anyone can make. NOT SECRET.
_DEMO_SEED = hashlib.sha256(b"govkiosk-demo-issuer-key-NOT-SECRET").digest()


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class IssuerPublicKey:
    """What kiosks and the backend hold: the issuer's Ed25519 public key (32 bytes)."""

    __slots__ = ("_key", "_raw")

    def __init__(self, raw: bytes) -> None:
        if len(raw) != PUBLIC_KEY_LENGTH:
            raise ValueError(f"issuer public key must be {PUBLIC_KEY_LENGTH} bytes (Ed25519)")
        self._raw = bytes(raw)
        self._key = Ed25519PublicKey.from_public_bytes(self._raw)

    @classmethod
    def from_hex(cls, text: str) -> IssuerPublicKey:
        try:
            raw = bytes.fromhex(text.strip())
        except ValueError as err:
            raise ValueError(f"issuer public key is not valid hex: {err}") from None
        return cls(raw)

    @classmethod
    def demo(cls) -> IssuerPublicKey:
        """The public half of the published demo issuer key (simulators, training, tests)."""
        return IssuerSigningKey.demo().public_key

    @property
    def is_demo(self) -> bool:
        return hmac.compare_digest(self._raw, IssuerSigningKey.demo().public_key._raw)

    @property
    def raw(self) -> bytes:
        return self._raw

    def hex(self) -> str:
        return self._raw.hex()

    def verify_certificate(self, certificate: CardCertificate) -> bool:
        """Whether the issuer signed exactly these certificate fields."""
        try:
            self._key.verify(certificate.signature, certificate.signed_message())
        except InvalidSignature:
            return False
        return True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IssuerPublicKey) and hmac.compare_digest(self._raw, other._raw)

    def __hash__(self) -> int:
        return hash(self._raw)

    def __repr__(self) -> str:
        return "IssuerPublicKey(<demo>)" if self.is_demo else f"IssuerPublicKey({self.hex()})"


class IssuerSigningKey:
    """The issuer's private key: personalisation only. Its repr never shows the key."""

    __slots__ = ("_key",)

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key

    @classmethod
    def generate(cls) -> IssuerSigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> IssuerSigningKey:
        """From the 32-byte Ed25519 private key (seed)."""
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def demo(cls) -> IssuerSigningKey:
        """The published demo issuer key. NOT SECRET: simulators, training cards, tests."""
        return cls.from_seed(_DEMO_SEED)

    @property
    def public_key(self) -> IssuerPublicKey:
        return IssuerPublicKey(_raw_public(self._key.public_key()))

    def certify(
        self,
        *,
        serial: bytes,
        id_number: str,
        holder_digest: bytes,
        photo_digest: bytes,
        card_public_key: bytes,
    ) -> CardCertificate:
        """Sign a card's certificate at personalisation."""
        unsigned = CardCertificate(
            serial=serial,
            id_number=id_number,
            holder_digest=holder_digest,
            photo_digest=photo_digest,
            card_public_key=card_public_key,
            signature=bytes(SIGNATURE_LENGTH),
        )
        signature = self._key.sign(unsigned.signed_message())
        return replace(unsigned, signature=signature)

    def __repr__(self) -> str:
        demo = self.public_key.is_demo
        return "IssuerSigningKey(<demo>)" if demo else "IssuerSigningKey(<secret>)"


@dataclass(frozen=True, repr=False)
class CardCertificate:
    """The issuer's statement about one card, stored on it (SPEC.md, file 0103)."""

    serial: bytes
    id_number: str
    holder_digest: bytes
    photo_digest: bytes
    card_public_key: bytes
    signature: bytes

    def __post_init__(self) -> None:
        _check_lengths(
            serial=self.serial,
            holder_digest=self.holder_digest,
            photo_digest=self.photo_digest,
            card_public_key=self.card_public_key,
            signature=self.signature,
        )

    def signed_message(self) -> bytes:
        """label | serial | id number (ASCII, upper case) | holder digest | photo digest | key."""
        return certificate_message(
            self.serial, self.id_number, self.holder_digest, self.photo_digest, self.card_public_key
        )

    def __repr__(self) -> str:
        return f"CardCertificate(serial={self.serial.hex().upper()!r})"


@dataclass(frozen=True)
class CardProof:
    """One answer of a card to a challenge, with what is needed to check it elsewhere.

    The identity number is left out on purpose: the proof travels in events,
    and its verifier already knows whom it expects.
    """

    serial: bytes
    holder_digest: bytes
    photo_digest: bytes
    card_public_key: bytes
    certificate_signature: bytes
    challenge: bytes
    signature: bytes

    def __post_init__(self) -> None:
        _check_lengths(
            serial=self.serial,
            holder_digest=self.holder_digest,
            photo_digest=self.photo_digest,
            card_public_key=self.card_public_key,
            signature=self.certificate_signature,
            challenge=self.challenge,
        )
        if len(self.signature) != SIGNATURE_LENGTH:
            raise ValueError(f"card signature must be {SIGNATURE_LENGTH} bytes")

    def certificate(self, id_number: str) -> CardCertificate:
        """The certificate this proof claims, for the holder ``id_number``."""
        return CardCertificate(
            serial=self.serial,
            id_number=id_number,
            holder_digest=self.holder_digest,
            photo_digest=self.photo_digest,
            card_public_key=self.card_public_key,
            signature=self.certificate_signature,
        )

    def to_wire(self) -> dict[str, str]:
        """Lower-case hex for serial, digests, key and challenge; base64 for signatures."""
        return {
            "serial": self.serial.hex(),
            "holder_digest": self.holder_digest.hex(),
            "photo_digest": self.photo_digest.hex(),
            "card_public_key": self.card_public_key.hex(),
            "certificate_signature": _b64(self.certificate_signature),
            "challenge": self.challenge.hex(),
            "signature": _b64(self.signature),
        }

    @classmethod
    def from_wire(cls, wire: Any) -> CardProof:
        """Strict: exactly the fields of ``to_wire``, in its encodings; else ValueError."""
        if not isinstance(wire, dict):
            raise ValueError("a card proof is an object")
        expected = {
            "serial",
            "holder_digest",
            "photo_digest",
            "card_public_key",
            "certificate_signature",
            "challenge",
            "signature",
        }
        if set(wire) != expected:
            extra, missing = set(wire) - expected, expected - set(wire)
            raise ValueError(f"card proof fields: missing {sorted(missing)}, extra {sorted(extra)}")
        if not all(isinstance(value, str) for value in wire.values()):
            raise ValueError("card proof fields are strings")
        return cls(
            serial=_unhex(wire["serial"], "serial"),
            holder_digest=_unhex(wire["holder_digest"], "holder_digest"),
            photo_digest=_unhex(wire["photo_digest"], "photo_digest"),
            card_public_key=_unhex(wire["card_public_key"], "card_public_key"),
            certificate_signature=_unb64(wire["certificate_signature"], "certificate_signature"),
            challenge=_unhex(wire["challenge"], "challenge"),
            signature=_unb64(wire["signature"], "signature"),
        )

    def __repr__(self) -> str:
        return (
            f"CardProof(serial={self.serial.hex().upper()!r}, challenge={self.challenge.hex()!r})"
        )


def verify_card_proof(
    issuer_public_key: IssuerPublicKey, proof: CardProof, *, id_number: str, challenge: bytes
) -> None:
    """Raise ``CardNotAuthentic`` unless ``proof`` is a genuine card's answer to ``challenge``
    and the issuer certified that card for ``id_number``.

    ``reason`` on the error: ``challenge`` (an answer to another challenge),
    ``signature`` (not the certified key's signature: a clone, or changed
    fields), ``certificate`` (the issuer did not certify this card for this
    identity number: another holder's card, or a certificate not from this
    issuer; the two look the same by design, since the proof carries no
    identity number).
    """
    if not hmac.compare_digest(proof.challenge, challenge):
        raise CardNotAuthentic(
            f"card {proof.serial.hex().upper()} answered another challenge", reason="challenge"
        )
    if not card_signature_valid(
        proof.card_public_key,
        auth_message_from_digests(
            proof.challenge, proof.serial, proof.holder_digest, proof.photo_digest
        ),
        proof.signature,
    ):
        raise CardNotAuthentic(
            f"card {proof.serial.hex().upper()}: the signature is not its certified key's",
            reason="signature",
        )
    if not issuer_public_key.verify_certificate(proof.certificate(id_number)):
        raise CardNotAuthentic(
            f"card {proof.serial.hex().upper()}: the issuer did not certify it for this "
            "identity number (another holder's card, or not this issuer's)",
            reason="certificate",
        )


def card_signature_valid(card_public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is the Ed25519 signature of ``message`` under ``card_public_key``."""
    try:
        Ed25519PublicKey.from_public_bytes(card_public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def new_challenge() -> bytes:
    return secrets.token_bytes(CHALLENGE_LENGTH)


def certificate_message(
    serial: bytes, id_number: str, holder_digest: bytes, photo_digest: bytes, public_key: bytes
) -> bytes:
    """What the issuer signs. The identity number is upper-cased (a final ``x`` is ``X``)."""
    number = id_number.strip().upper().encode("utf-8")
    return _fields(CERTIFICATE_LABEL, serial, number, holder_digest, photo_digest, public_key)


def auth_message(challenge: bytes, serial: bytes, holder_file: bytes, photo_file: bytes) -> bytes:
    """What the card signs: label | challenge | serial | SHA-256(holder) | SHA-256(photo)."""
    return auth_message_from_digests(
        challenge, serial, hashlib.sha256(holder_file).digest(), hashlib.sha256(photo_file).digest()
    )


def auth_message_from_digests(
    challenge: bytes, serial: bytes, holder_digest: bytes, photo_digest: bytes
) -> bytes:
    """Same as ``auth_message``; a card stores the digests at personalisation."""
    return _fields(AUTH_LABEL, challenge, serial, holder_digest, photo_digest)


def _fields(*parts: bytes) -> bytes:
    # Length-prefixed so that no two different field lists give the same bytes.
    return b"".join(len(part).to_bytes(2, "big") + part for part in parts)


def _check_lengths(
    *,
    serial: bytes,
    holder_digest: bytes,
    photo_digest: bytes,
    card_public_key: bytes,
    signature: bytes,
    challenge: bytes | None = None,
) -> None:
    if not 1 <= len(serial) <= MAX_SERIAL_LENGTH:
        raise ValueError(f"card serial must be 1 to {MAX_SERIAL_LENGTH} bytes")
    if len(holder_digest) != DIGEST_LENGTH or len(photo_digest) != DIGEST_LENGTH:
        raise ValueError(f"file digests must be {DIGEST_LENGTH} bytes (SHA-256)")
    if len(card_public_key) != PUBLIC_KEY_LENGTH:
        raise ValueError(f"card public key must be {PUBLIC_KEY_LENGTH} bytes (Ed25519)")
    if len(signature) != SIGNATURE_LENGTH:
        raise ValueError(f"certificate signature must be {SIGNATURE_LENGTH} bytes")
    if challenge is not None and len(challenge) != CHALLENGE_LENGTH:
        raise ValueError(f"challenge must be {CHALLENGE_LENGTH} bytes")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as err:
        raise ValueError(f"{what} is not base64: {err}") from None


def _unhex(text: str, what: str) -> bytes:
    if len(text) % 2 or not set(text) <= _HEX_DIGITS:
        raise ValueError(f"{what} must be lower-case hex, two digits a byte")
    return bytes.fromhex(text)
