"""Card authenticity: per-card keys derived from the issuer's master key, and the MAC.

Why a challenge-response and not just a signature over the files: a copy of
the files (a clone) must not pass, so the card has to prove it holds a secret
that never leaves it. The kiosk sends a fresh random challenge; the card
answers with a MAC keyed by its own key, bound to the challenge, its serial
and the digests of the holder and photo files it served. The kiosk derives
the same card key from the issuer master key and checks the MAC. Binding the
file digests means a relay that serves one person's photo while passing the
challenge to another genuine card fails too. See SPEC.md, "Authentication".

Symmetric keys (HMAC-SHA256, as in the card key diversification of EMV and
many national schemes) keep the card side cheap; the master key lives only in
the issuer's systems and in the kiosks' configuration.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac

logger = logging.getLogger(__name__)

KEY_LABEL = b"govkiosk citizen-card key v1"
MAC_LABEL = b"govkiosk citizen-card auth v1"
CHALLENGE_LENGTH = 16
MAC_LENGTH = 32
MIN_KEY_LENGTH = 16

# Published on purpose: for simulators, training cards and tests only. A kiosk
# configured with it in production accepts cards anyone can make.
_DEMO_KEY = b"govkiosk-demo-issuer-key-NOT-SECRET"


class IssuerKey:
    """The issuer master key. Its repr never shows the key."""

    __slots__ = ("_secret",)

    def __init__(self, secret: bytes) -> None:
        if len(secret) < MIN_KEY_LENGTH:
            raise ValueError(f"issuer key must be at least {MIN_KEY_LENGTH} bytes")
        self._secret = bytes(secret)

    @classmethod
    def from_hex(cls, text: str) -> IssuerKey:
        try:
            return cls(bytes.fromhex(text.strip()))
        except ValueError as err:
            raise ValueError(f"issuer key is not valid hex: {err}") from None

    @classmethod
    def demo(cls) -> IssuerKey:
        return cls(_DEMO_KEY)

    @property
    def is_demo(self) -> bool:
        return hmac.compare_digest(self._secret, _DEMO_KEY)

    def card_key(self, serial: bytes, id_number: str) -> bytes:
        """The key personalised into one card: HMAC-SHA256(master, label | serial | id)."""
        return _hmac(self._secret, _fields(KEY_LABEL, serial, id_number.encode("ascii")))

    def verify(
        self,
        *,
        challenge: bytes,
        serial: bytes,
        id_number: str,
        holder_file: bytes,
        photo_file: bytes,
        response: bytes,
    ) -> bool:
        """Whether ``response`` is the MAC a genuine card would give. Constant-time."""
        expected_message = auth_message(challenge, serial, holder_file, photo_file)
        mac = crypto_hmac.HMAC(self.card_key(serial, id_number), hashes.SHA256())
        mac.update(expected_message)
        try:
            mac.verify(response)
        except InvalidSignature:
            return False
        return True

    def __repr__(self) -> str:
        return "IssuerKey(<demo>)" if self.is_demo else "IssuerKey(<secret>)"


def new_challenge() -> bytes:
    return secrets.token_bytes(CHALLENGE_LENGTH)


def auth_message(challenge: bytes, serial: bytes, holder_file: bytes, photo_file: bytes) -> bytes:
    """What the card MACs: label | challenge | serial | SHA-256(holder) | SHA-256(photo)."""
    return auth_message_from_digests(
        challenge, serial, hashlib.sha256(holder_file).digest(), hashlib.sha256(photo_file).digest()
    )


def auth_message_from_digests(
    challenge: bytes, serial: bytes, holder_digest: bytes, photo_digest: bytes
) -> bytes:
    """Same as ``auth_message``; a card stores the digests at personalisation."""
    return _fields(MAC_LABEL, challenge, serial, holder_digest, photo_digest)


def card_mac(card_key: bytes, message: bytes) -> bytes:
    """The card's side of INTERNAL AUTHENTICATE."""
    return _hmac(card_key, message)


def _fields(*parts: bytes) -> bytes:
    # Length-prefixed so that no two different field lists give the same bytes.
    return b"".join(len(part).to_bytes(2, "big") + part for part in parts)


def _hmac(key: bytes, message: bytes) -> bytes:
    mac = crypto_hmac.HMAC(key, hashes.SHA256())
    mac.update(message)
    return mac.finalize()
