"""The proof an offline kiosk sends with an application: the card was there, and the face matched.

A kiosk that is offline when a citizen applies seals the applicant to the
backend (``provisioning/sealing.py``); the backend cannot ask anyone whether
that citizen was at the kiosk. So, while the card is still in, the kiosk asks
the card to sign a challenge derived from the application itself
(``challenge_for``): its kiosk, receipt number, service item and the sealed
applicant. The card's answer (``devices.card.auth.CardProof``) can be checked
with the card issuer's public key alone, which the kiosk also holds, so no
kiosk can make it for a card that was not in its reader. The kiosk adds the
face decision and the time, and signs the whole with its enrolled key
(``KioskSigner``, from ``kioskctl enrol``).

The backend (``verify``) recomputes the challenge from the event's own fields,
so a proof cannot be moved to another application, kiosk or applicant; checks
the kiosk's signature with the certificate it enrolled for that kiosk; checks
the card's proof for the identity number it opened from the sealed applicant;
and requires a matched face with liveness passed. What the face decision is
worth: the kiosk's word, signed by it at that moment (a kiosk's camera and
software are trusted as they are for every online session too). What the card
proof is worth: the card itself answered this application's challenge.

Wire form (``ApplicationSubmitted.offline_proof``)::

    {"card": CardProof.to_wire(), "face": {"decision", "liveness"},
     "at": ISO 8601 UTC, "kiosk_signature": base64 ECDSA P-256 / SHA-256}

The kiosk's signature covers the canonical JSON (sorted keys, no spaces,
ASCII) of ``{"v", "kiosk_id", "receipt_no", "item_code", "applicant_sealed_sha256",
"card", "face", "at"}``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from devices.card.auth import (
    CHALLENGE_LENGTH,
    CardProof,
    IssuerPublicKey,
    verify_card_proof,
)
from devices.errors import CardNotAuthentic
from provisioning.request_signing import KioskSigner

CHALLENGE_LABEL = b"govkiosk offline application v1"
SIGNED_VERSION = "govkiosk offline proof v1"
FIELDS = frozenset({"card", "face", "at", "kiosk_signature"})
FACE_FIELDS = frozenset({"decision", "liveness"})
MAX_SIGNATURE_B64 = 256

__all__ = [
    "OfflineProofRefused",
    "build",
    "challenge_for",
    "demo_issuer_public_key",
    "issuer_public_key_from_hex",
    "verify",
]


class OfflineProofRefused(Exception):
    """Why an offline proof does not hold. ``code`` is stable (for the database and the
    ops centre), ``message_zh`` is for the reviewer; ``detail`` keeps the technical
    reason, in English, for logs."""

    def __init__(self, code: str, message_zh: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail or message_zh}")
        self.code = code
        self.message_zh = message_zh
        self.detail = detail


def issuer_public_key_from_hex(text: str) -> IssuerPublicKey:
    """The card issuer's public key from its configuration form (64 hex digits)."""
    return IssuerPublicKey.from_hex(text)


def demo_issuer_public_key() -> IssuerPublicKey:
    """The published demo issuer's public key (simulators, training cards, tests): trusting
    it outside development accepts cards anyone can make. ``.is_demo`` tells it apart."""
    return IssuerPublicKey.demo()


def challenge_for(kiosk_id: str, receipt_no: str, item_code: str, applicant_sealed: str) -> bytes:
    """The 16 bytes the card signs for this application: SHA-256 over the length-prefixed
    label and fields, truncated. The sealed applicant is fresh for every sealing (an
    ephemeral key), so the challenge is too."""
    digest = hashlib.sha256()
    for part in (CHALLENGE_LABEL, *(f.encode("utf-8") for f in (kiosk_id, receipt_no, item_code))):
        digest.update(len(part).to_bytes(4, "big") + part)
    sealed = applicant_sealed.encode("utf-8")
    digest.update(len(sealed).to_bytes(4, "big") + sealed)
    return digest.digest()[:CHALLENGE_LENGTH]


def build(
    signer: KioskSigner,
    *,
    kiosk_id: str,
    receipt_no: str,
    item_code: str,
    applicant_sealed: str,
    card_proof: CardProof,
    face_decision: str,
    liveness: str,
    at: datetime,
) -> dict[str, Any]:
    """The wire dict, signed with the kiosk's enrolled key.

    Refuses (``ValueError``) what the backend would refuse anyway for a reason
    of the kiosk's own making: a signer enrolled as another kiosk, a card proof
    for another challenge, a time without a time zone.
    """
    if signer.kiosk_id != kiosk_id:
        raise ValueError(f"the kiosk key is enrolled as {signer.kiosk_id!r}, not {kiosk_id!r}")
    if card_proof.challenge != challenge_for(kiosk_id, receipt_no, item_code, applicant_sealed):
        raise ValueError("the card proof answers another challenge than this application's")
    if at.tzinfo is None:
        raise ValueError("the time of the proof needs a time zone")
    card = card_proof.to_wire()
    face = {"decision": face_decision, "liveness": liveness}
    at_text = _at_text(at)
    message = _signed_message(
        kiosk_id, receipt_no, item_code, applicant_sealed, card, face, at_text
    )
    signature = signer.key.sign(message, ec.ECDSA(hashes.SHA256()))
    return {
        "card": card,
        "face": face,
        "at": at_text,
        "kiosk_signature": base64.b64encode(signature).decode("ascii"),
    }


def verify(
    proof: dict[str, Any],
    *,
    kiosk_id: str,
    receipt_no: str,
    item_code: str,
    applicant_sealed: str,
    id_number: str,
    kiosk_certificate: x509.Certificate,
    issuer_public_key: IssuerPublicKey,
) -> None:
    """Raise ``OfflineProofRefused`` unless ``proof`` holds for this application.

    ``kiosk_id``, ``receipt_no``, ``item_code`` and ``applicant_sealed`` are the
    event's own (the topic's kiosk, the body's fields); ``id_number`` is what
    the backend opened from ``applicant_sealed``; ``kiosk_certificate`` is the
    certificate the backend enrolled for ``kiosk_id`` (its chain and revocation
    are the enrolment's business, not this function's). Checks, in order:
    ``malformed``, ``kiosk_signature``, ``wrong_challenge``,
    ``card_not_authentic``, ``wrong_holder``, ``face_not_matched``,
    ``liveness_not_passed``.
    """
    card, face, at_text, signature = _parse(proof)
    _check_kiosk_signature(
        kiosk_certificate,
        kiosk_id,
        signature,
        _signed_message(
            kiosk_id, receipt_no, item_code, applicant_sealed, card.to_wire(), face, at_text
        ),
    )
    expected = challenge_for(kiosk_id, receipt_no, item_code, applicant_sealed)
    if card.challenge != expected:
        raise OfflineProofRefused(
            "wrong_challenge",
            "卡片应答的不是本申请的挑战：证明不属于本申请",
            "the card answered another application's challenge",
        )
    try:
        verify_card_proof(issuer_public_key, card, id_number=id_number, challenge=expected)
    except CardNotAuthentic as err:
        if err.reason == "certificate":
            raise OfflineProofRefused(
                "wrong_holder",
                "卡片证书与申请人不符：此卡不是申请人的，或证书不是发卡机构签发的",
                str(err),
            ) from err
        raise OfflineProofRefused(
            "card_not_authentic", "卡片应答无效：不是真卡（可能是复制卡）或证明被改动", str(err)
        ) from err
    if face["decision"] != "match":
        raise OfflineProofRefused(
            "face_not_matched",
            "人脸核验未通过",
            f"face decision {face['decision']!r}",
        )
    if face["liveness"] != "passed":
        raise OfflineProofRefused(
            "liveness_not_passed",
            "活体检测未通过",
            f"liveness {face['liveness']!r}",
        )


def _parse(proof: Any) -> tuple[CardProof, dict[str, str], str, bytes]:
    def malformed(detail: str) -> OfflineProofRefused:
        return OfflineProofRefused("malformed", "离线证明格式不正确", detail)

    if not isinstance(proof, dict) or set(proof) != FIELDS:
        raise malformed(f"an offline proof is an object with exactly {sorted(FIELDS)}")
    face = proof["face"]
    if (
        not isinstance(face, dict)
        or set(face) != FACE_FIELDS
        or not all(isinstance(v, str) and len(v) <= 64 for v in face.values())
    ):
        raise malformed("face is an object with the strings decision and liveness")
    try:
        card = CardProof.from_wire(proof["card"])
    except ValueError as err:
        raise malformed(f"card: {err}") from err
    at = proof["at"]
    try:
        parsed = datetime.fromisoformat(at) if isinstance(at, str) and len(at) <= 64 else None
    except ValueError as err:
        raise malformed(f"at: {err}") from err
    if parsed is None or parsed.tzinfo is None:
        raise malformed("at is an ISO 8601 time with its time zone")
    at_text = _at_text(parsed)
    signature_text = proof["kiosk_signature"]
    if not isinstance(signature_text, str) or len(signature_text) > MAX_SIGNATURE_B64:
        raise malformed("kiosk_signature is a base64 string")
    try:
        signature = base64.b64decode(signature_text, validate=True)
    except (binascii.Error, ValueError) as err:
        raise malformed(f"kiosk_signature: {err}") from err
    return card, {"decision": face["decision"], "liveness": face["liveness"]}, at_text, signature


def _check_kiosk_signature(
    certificate: x509.Certificate, kiosk_id: str, signature: bytes, message: bytes
) -> None:
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not names or names[0].value != kiosk_id:
        raise OfflineProofRefused(
            "kiosk_signature",
            "终端签名无效：证书不是本终端的",
            f"the certificate is not kiosk {kiosk_id!r}'s",
        )
    public_key = certificate.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        raise OfflineProofRefused("kiosk_signature", "终端签名无效", "not an EC certificate")
    try:
        public_key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as err:
        raise OfflineProofRefused(
            "kiosk_signature",
            "终端签名无效：证明被改动，或不是为本申请签的",
            "the kiosk's signature does not match this application",
        ) from err


def _signed_message(
    kiosk_id: str,
    receipt_no: str,
    item_code: str,
    applicant_sealed: str,
    card: dict[str, str],
    face: dict[str, str],
    at_text: str,
) -> bytes:
    body = {
        "v": SIGNED_VERSION,
        "kiosk_id": kiosk_id,
        "receipt_no": receipt_no,
        "item_code": item_code,
        "applicant_sealed_sha256": hashlib.sha256(applicant_sealed.encode("utf-8")).hexdigest(),
        "card": card,
        "face": face,
        "at": at_text,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _at_text(at: datetime) -> str:
    """One spelling of an aware time, whatever the spelling received: UTC, microseconds, Z."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
