"""The offline application's proof: what ``verify`` accepts, what it refuses and why,
and the attacks it is there for."""

from __future__ import annotations

import base64
import copy
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from devices.card.application import AID, prove
from devices.card.auth import CardProof, IssuerSigningKey, auth_message_from_digests
from devices.card.demo import ZHANG_SAN, DemoCard, make_demo_card
from devices.errors import CardNotAuthentic
from mqtt.contract.messages import OfflineProof
from provisioning import offline_proof, sealing
from provisioning.ca import FleetCA, make_csr, new_key
from provisioning.offline_proof import OfflineProofRefused, build, challenge_for, verify
from provisioning.request_signing import KioskSigner
from tests.devices.card.test_application import AppletTransport

KIOSK = "k110101-0001"
ITEM = "11110102000000000Q2001001000"
RECEIPT = "K110101-0001-20261123-0001"
AT = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
ISSUER = offline_proof.demo_issuer_public_key()
SEALING_KEY = sealing.generate_key()
LI_SI_ID = "440305199003071236"


def signer_for(ca: FleetCA, kiosk_id: str = KIOSK) -> KioskSigner:
    key = new_key()
    signed = ca.sign_csr(make_csr(key, kiosk_id), kiosk_id)
    return KioskSigner(key, x509.load_pem_x509_certificate(signed.cert_pem))


def seal(id_number: str = ZHANG_SAN.id_number, name: str = "张三") -> str:
    plain = json.dumps({"id_number": id_number, "name": name})
    return sealing.seal(sealing.public_key_pem(SEALING_KEY), plain.encode())


@dataclass
class Application:
    """One offline application as the backend receives it, and what it needs to check it."""

    kiosk_id: str
    receipt_no: str
    item_code: str
    applicant_sealed: str
    proof: dict[str, Any]
    certificate: x509.Certificate

    def check(self, **overrides: Any) -> None:
        proof = overrides.pop("proof", self.proof)
        fields: dict[str, Any] = {
            "kiosk_id": self.kiosk_id,
            "receipt_no": self.receipt_no,
            "item_code": self.item_code,
            "applicant_sealed": self.applicant_sealed,
            "kiosk_certificate": self.certificate,
            "issuer_public_key": ISSUER,
        }
        fields.update(overrides)
        opened = json.loads(sealing.unseal(SEALING_KEY, fields["applicant_sealed"]))
        fields.setdefault("id_number", opened["id_number"])
        verify(proof, **fields)

    def refusal(self, **overrides: Any) -> str:
        with pytest.raises(OfflineProofRefused) as caught:
            self.check(**overrides)
        assert caught.value.message_zh  # every refusal says why, for the reviewer
        return caught.value.code


def apply_at_kiosk(
    signer: KioskSigner,
    *,
    card: Any = None,
    receipt_no: str = RECEIPT,
    applicant_sealed: str | None = None,
    decision: str = "match",
    liveness: str = "passed",
    card_proof: CardProof | None = None,
) -> Application:
    """What the kiosk does: seal, derive the challenge, have the card in the reader answer it."""
    sealed = applicant_sealed or seal()
    challenge = challenge_for(signer.kiosk_id, receipt_no, ITEM, sealed)
    card = card or make_demo_card(DemoCard.GENUINE)
    proof = card_proof or prove(AppletTransport(card), ISSUER, challenge)
    wire = build(
        signer,
        kiosk_id=signer.kiosk_id,
        receipt_no=receipt_no,
        item_code=ITEM,
        applicant_sealed=sealed,
        card_proof=proof,
        face_decision=decision,
        liveness=liveness,
        at=AT,
    )
    return Application(signer.kiosk_id, receipt_no, ITEM, sealed, wire, signer.certificate)


@pytest.fixture
def signer(fleet_ca: FleetCA) -> KioskSigner:
    return signer_for(fleet_ca)


@pytest.fixture
def application(signer: KioskSigner) -> Application:
    return apply_at_kiosk(signer)


def test_a_genuine_offline_application_round_trips_through_the_contract(
    application: Application,
) -> None:
    application.check()
    # As ingest will hand it over: validated by the contract's model, dumped back to JSON.
    dumped = OfflineProof.model_validate(application.proof).model_dump(mode="json")
    application.check(proof=dumped)
    assert set(application.proof) == {"card", "face", "at", "kiosk_signature"}
    assert ZHANG_SAN.id_number not in json.dumps(application.proof)


def test_the_challenge_binds_every_field_and_is_16_bytes() -> None:
    base = ("k1", "R-1", "ITEM", "sealed")
    challenge = challenge_for(*base)
    assert len(challenge) == 16
    others = {challenge_for(*base[:i], base[i] + "x", *base[i + 1 :]) for i in range(4)}
    others.add(challenge_for("k1R", "-1", "ITEM", "sealed"))  # no ambiguity at the joins
    assert challenge not in others and len(others) == 5


def test_the_time_may_be_spelled_any_way(application: Application) -> None:
    moved = copy.deepcopy(application.proof)
    moved["at"] = AT.astimezone(timezone(timedelta(hours=8))).isoformat()
    application.check(proof=moved)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda p: p.pop("face"),
        lambda p: p.update(extra=1),
        lambda p: p["card"].pop("serial"),
        lambda p: p["card"].update(signature="***"),
        lambda p: p["face"].update(decision=5),
        lambda p: p.update(at="yesterday"),
        lambda p: p.update(at="2026-11-23T10:00:00"),  # no time zone
        lambda p: p.update(kiosk_signature="!" * 10),
        lambda p: p.update(card=[]),
    ],
)
def test_malformed_proofs_are_refused(application: Application, mangle: Any) -> None:
    proof = copy.deepcopy(application.proof)
    mangle(proof)
    assert application.refusal(proof=proof) == "malformed"
    assert application.refusal(proof="not a dict") == "malformed"


def test_face_and_liveness_must_have_passed(signer: KioskSigner) -> None:
    assert apply_at_kiosk(signer, decision="no_match").refusal() == "face_not_matched"
    assert apply_at_kiosk(signer, liveness="not_checked").refusal() == "liveness_not_passed"


def test_a_proof_moved_to_another_application_kiosk_or_applicant_is_refused(
    fleet_ca: FleetCA, application: Application
) -> None:
    """Someone without the kiosk's key (the network, the broker, a copy of the database)
    moves a genuine proof: the kiosk's signature no longer holds."""
    other_kiosk = signer_for(fleet_ca, "k110101-0002")
    moves = [
        {"receipt_no": "K110101-0001-20261123-0002"},
        {"item_code": "11110102000000000Q2001002000"},
        {"applicant_sealed": seal()},  # the same citizen, sealed again: another application
        {"applicant_sealed": seal(LI_SI_ID, "李四")},
        {"kiosk_id": "k110101-0002", "kiosk_certificate": other_kiosk.certificate},
        {"kiosk_certificate": other_kiosk.certificate},  # another kiosk's certificate
    ]
    assert [application.refusal(**move) for move in moves] == ["kiosk_signature"] * len(moves)


def test_a_dishonest_kiosk_cannot_reuse_a_card_answer_for_another_application(
    signer: KioskSigner, application: Application
) -> None:
    """The kiosk itself re-signs a genuine card answer for another receipt, or for another
    applicant: the challenge, recomputed from the event, is not the one the card signed."""
    card = CardProof.from_wire(application.proof["card"])
    for receipt_no, sealed in [
        ("K110101-0001-20261123-0002", application.applicant_sealed),
        (RECEIPT, seal(LI_SI_ID, "李四")),
    ]:
        moved = _resign(signer, card, receipt_no=receipt_no, applicant_sealed=sealed)
        assert moved.refusal() == "wrong_challenge"


def test_a_kiosk_with_only_the_issuer_public_key_cannot_forge_a_card_answer(
    signer: KioskSigner, application: Application
) -> None:
    """Applications for a citizen whose card is not in the reader: the kiosk has read the
    card once (every public field of its certificate) and holds the issuer public key."""
    genuine = CardProof.from_wire(application.proof["card"])
    forger = Ed25519PrivateKey.generate()
    forger_key = forger.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    codes = []
    for n in range(20):
        sealed = seal()
        receipt_no = f"K110101-0001-20261123-{n + 10:04d}"
        challenge = challenge_for(KIOSK, receipt_no, ITEM, sealed)
        message = auth_message_from_digests(
            challenge, genuine.serial, genuine.holder_digest, genuine.photo_digest
        )
        forged = [
            # the genuine certificate, an answer signed with the kiosk's own key
            replace(genuine, challenge=challenge, signature=forger.sign(message)),
            # the kiosk's own key in the certificate fields: the issuer's signature no longer
            # vouches for them (indistinguishable from another holder's certificate)
            replace(
                genuine,
                challenge=challenge,
                card_public_key=forger_key,
                signature=forger.sign(message),
            ),
            replace(genuine, challenge=challenge),  # an old answer, a new challenge
        ]
        for proof in forged:
            attempt = _resign(signer, proof, receipt_no=receipt_no, applicant_sealed=sealed)
            codes.append(attempt.refusal())
    assert codes == ["card_not_authentic", "wrong_holder", "card_not_authentic"] * 20


def test_a_cloned_card_cannot_prove(signer: KioskSigner) -> None:
    clone = make_demo_card(DemoCard.CLONE)
    with pytest.raises(CardNotAuthentic, match="challenge-response"):
        apply_at_kiosk(signer, card=clone)
    # Its answer, taken raw and sent anyway:
    sealed = seal()
    challenge = challenge_for(KIOSK, RECEIPT, ITEM, sealed)
    raw = _raw_answer(clone, challenge)
    genuine = apply_at_kiosk(signer, applicant_sealed=sealed)
    card = replace(CardProof.from_wire(genuine.proof["card"]), signature=raw)
    assert _resign(signer, card, applicant_sealed=sealed).refusal() == "card_not_authentic"


def test_another_holders_card_is_the_wrong_holder(signer: KioskSigner) -> None:
    """The kiosk seals Li Si as the applicant while Zhang San's genuine card answers."""
    application = apply_at_kiosk(signer, applicant_sealed=seal(LI_SI_ID, "李四"))
    assert application.refusal() == "wrong_holder"


def test_a_card_of_another_issuer_is_refused(signer: KioskSigner) -> None:
    sealed = seal()
    other_issuer = IssuerSigningKey.generate()
    card = make_demo_card(DemoCard.GENUINE, other_issuer)
    challenge = challenge_for(KIOSK, RECEIPT, ITEM, sealed)
    # A kiosk trusting the other issuer takes the proof; the backend, trusting ours, does not.
    proof = prove(AppletTransport(card), other_issuer.public_key, challenge)
    application = apply_at_kiosk(signer, applicant_sealed=sealed, card_proof=proof)
    assert application.refusal() == "wrong_holder"


def test_build_refuses_what_the_backend_would_refuse(signer: KioskSigner) -> None:
    genuine = apply_at_kiosk(signer)
    card = CardProof.from_wire(genuine.proof["card"])
    common: dict[str, Any] = {
        "kiosk_id": KIOSK,
        "receipt_no": RECEIPT,
        "item_code": ITEM,
        "applicant_sealed": genuine.applicant_sealed,
        "card_proof": card,
        "face_decision": "match",
        "liveness": "passed",
        "at": AT,
    }
    with pytest.raises(ValueError, match="enrolled as"):
        build(signer, **{**common, "kiosk_id": "k110101-0002"})
    with pytest.raises(ValueError, match="another challenge"):
        build(signer, **{**common, "receipt_no": "K110101-0001-20261123-0002"})
    with pytest.raises(ValueError, match="time zone"):
        build(signer, **{**common, "at": datetime(2026, 11, 23, 10, 0)})


def test_the_demo_issuer_key_is_recognisable() -> None:
    assert ISSUER.is_demo
    assert offline_proof.issuer_public_key_from_hex(ISSUER.hex()) == ISSUER


# -- helpers -------------------------------------------------------------------------------


def _resign(
    signer: KioskSigner,
    card: CardProof,
    *,
    receipt_no: str = RECEIPT,
    applicant_sealed: str,
) -> Application:
    """What a dishonest kiosk can sign: any card proof, for any application of its own.
    (``build`` refuses a mismatched challenge, so this signs the way it would.)"""
    proof = {
        "card": card.to_wire(),
        "face": {"decision": "match", "liveness": "passed"},
        "at": "2026-11-23T02:00:00.000000Z",
    }
    message = offline_proof._signed_message(
        signer.kiosk_id,
        receipt_no,
        ITEM,
        applicant_sealed,
        proof["card"],
        proof["face"],
        proof["at"],
    )
    signature = signer.key.sign(message, ec.ECDSA(hashes.SHA256()))
    proof["kiosk_signature"] = base64.b64encode(signature).decode()
    return Application(
        signer.kiosk_id, receipt_no, ITEM, applicant_sealed, proof, signer.certificate
    )


def _raw_answer(card: Any, challenge: bytes) -> bytes:
    transport = AppletTransport(card)
    transport.transmit(bytes([0x00, 0xA4, 0x04, 0x0C, len(AID)]) + AID)
    response = transport.transmit(bytes([0x00, 0x88, 0x00, 0x00, 16]) + challenge + b"\x00")
    return response[:-2]
