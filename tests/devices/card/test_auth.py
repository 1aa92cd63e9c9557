"""Asymmetric card authentication: the proof a third party checks with the issuer's public key."""

from __future__ import annotations

from dataclasses import replace

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from devices.card.application import CERTIFICATE_FID, decode_certificate, prove
from devices.card.auth import (
    CardProof,
    IssuerPublicKey,
    IssuerSigningKey,
    auth_message_from_digests,
    new_challenge,
    verify_card_proof,
)
from devices.card.demo import ZHANG_SAN, DemoCard, make_demo_card
from devices.errors import CardNotAuthentic
from tests.devices.card.test_application import AppletTransport

ID_NUMBER = ZHANG_SAN.id_number
ISSUER = IssuerPublicKey.demo()


@pytest.fixture
def challenge() -> bytes:
    return new_challenge()


@pytest.fixture
def proof(challenge: bytes) -> CardProof:
    card = make_demo_card(DemoCard.GENUINE)
    return prove(AppletTransport(card), ISSUER, challenge)


def reason(proof: CardProof, *, id_number: str = ID_NUMBER, challenge: bytes) -> str:
    with pytest.raises(CardNotAuthentic) as caught:
        verify_card_proof(ISSUER, proof, id_number=id_number, challenge=challenge)
    return caught.value.reason


def test_a_genuine_proof_checks_out_with_the_public_key_alone(
    proof: CardProof, challenge: bytes
) -> None:
    verify_card_proof(ISSUER, proof, id_number=ID_NUMBER, challenge=challenge)
    verify_card_proof(ISSUER, proof, id_number=ID_NUMBER.lower(), challenge=challenge)


def test_the_wire_form_round_trips_and_is_strict(proof: CardProof) -> None:
    wire = proof.to_wire()
    assert CardProof.from_wire(wire) == proof
    assert all(isinstance(v, str) for v in wire.values())
    for broken in (
        {**wire, "extra": "x"},
        {k: v for k, v in wire.items() if k != "signature"},
        {**wire, "serial": wire["serial"].upper()},
        {**wire, "challenge": wire["challenge"][:-2]},
        {**wire, "signature": "not base64!"},
        {**wire, "holder_digest": " " + wire["holder_digest"][1:]},
        {**wire, "card_public_key": 5},
        [wire],
    ):
        with pytest.raises(ValueError):
            CardProof.from_wire(broken)


def test_each_failed_check_has_its_reason(proof: CardProof, challenge: bytes) -> None:
    assert reason(proof, challenge=new_challenge()) == "challenge"
    assert reason(proof, id_number="440305199003071236", challenge=challenge) == "certificate"
    assert reason(replace(proof, photo_digest=bytes(32)), challenge=challenge) == "signature"
    assert reason(replace(proof, signature=bytes(64)), challenge=challenge) == "signature"


def test_a_verifier_holding_only_the_issuer_public_key_cannot_forge_a_proof(
    proof: CardProof, challenge: bytes
) -> None:
    """What a dishonest kiosk can do: copy the public certificate fields of a card it read,
    make its own key, sign with it, and reuse old answers. Every attempt fails."""
    forger = Ed25519PrivateKey.generate()
    forger_public = forger.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    fresh = new_challenge()
    message = auth_message_from_digests(
        fresh, proof.serial, proof.holder_digest, proof.photo_digest
    )
    attempts = [
        # the genuine certificate, signed with the forger's key
        replace(proof, challenge=fresh, signature=forger.sign(message)),
        # its own key in the certificate fields, the issuer's certificate signature kept
        replace(
            proof, challenge=fresh, card_public_key=forger_public, signature=forger.sign(message)
        ),
        # an old genuine answer offered for a new challenge
        replace(proof, challenge=fresh),
        # a certificate "signed" by a key of its own
        replace(
            proof,
            challenge=fresh,
            card_public_key=forger_public,
            certificate_signature=forger.sign(b"certificate"),
            signature=forger.sign(message),
        ),
    ]
    for attempt in attempts:
        with pytest.raises(CardNotAuthentic):
            verify_card_proof(ISSUER, attempt, id_number=ID_NUMBER, challenge=fresh)


def test_a_card_certified_by_another_issuer_does_not_prove(challenge: bytes) -> None:
    card = make_demo_card(DemoCard.GENUINE, IssuerSigningKey.generate())
    other_issuer = decode_certificate(card._files[CERTIFICATE_FID])  # type: ignore[attr-defined]
    assert other_issuer.serial == ZHANG_SAN.serial
    with pytest.raises(CardNotAuthentic, match="not signed by the issuer"):
        prove(AppletTransport(card), ISSUER, challenge)


def test_the_demo_keys_are_marked_and_public_keys_parse_from_hex() -> None:
    assert ISSUER.is_demo and IssuerSigningKey.demo().public_key == ISSUER
    assert IssuerPublicKey.from_hex(ISSUER.hex()) == ISSUER
    assert not IssuerSigningKey.generate().public_key.is_demo
    with pytest.raises(ValueError, match="32 bytes"):
        IssuerPublicKey.from_hex("00" * 35)
    with pytest.raises(ValueError, match="hex"):
        IssuerPublicKey.from_hex("zz")
