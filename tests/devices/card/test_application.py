"""The citizen-card application end to end against the card-side applet, in process."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from devices.card import tlv
from devices.card.applet import Applet, BlankCard, CitizenCard
from devices.card.application import (
    AID,
    CERTIFICATE_FID,
    HOLDER_TEMPLATE,
    PHOTO_FID,
    HolderRecord,
    HolderTag,
    decode_certificate,
    encode_certificate,
    prove,
    read_identity,
)
from devices.card.auth import IssuerPublicKey, IssuerSigningKey, new_challenge
from devices.card.demo import LI_SI_EXPIRED, ZHANG_SAN, demo_photo
from devices.errors import CardDataInvalid, CardNotAuthentic, CardRemoved, CardUnsupported

TODAY = date(2026, 1, 1)


class AppletTransport:
    """Hands APDUs straight to an applet and records them."""

    def __init__(self, applet: Applet) -> None:
        self.applet = applet
        self.commands: list[bytes] = []

    def transmit(self, apdu: bytes) -> bytes:
        self.commands.append(apdu)
        return self.applet.process(apdu)


DEMO_ISSUER = IssuerSigningKey.demo()


def read(applet: Applet, key: IssuerPublicKey | None = None) -> object:
    return read_identity(
        AppletTransport(applet), key or IssuerPublicKey.demo(), today=lambda: TODAY
    )


def genuine() -> CitizenCard:
    return CitizenCard.issue(ZHANG_SAN, demo_photo(), DEMO_ISSUER)


def test_genuine_card_selects_by_aid_and_reads_photo_in_chunks() -> None:
    transport = AppletTransport(genuine())

    identity = read_identity(transport, IssuerPublicKey.demo(), today=lambda: TODAY)

    assert identity.photo == demo_photo()
    assert transport.commands[0] == bytes([0x00, 0xA4, 0x04, 0x0C, len(AID)]) + AID
    read_binaries = [c for c in transport.commands if c[1] == 0xB0]
    assert len(read_binaries) > len(demo_photo()) // 256
    assert transport.commands[-1][1] == 0x88  # INTERNAL AUTHENTICATE last


def test_holder_file_round_trips() -> None:
    assert HolderRecord.decode(ZHANG_SAN.encode()).__dict__ == ZHANG_SAN.__dict__


def test_unknown_tags_are_ignored_missing_ones_are_not() -> None:
    inner = tlv.decode(tlv.decode(ZHANG_SAN.encode())[0][1])
    with_extra = tlv.encode(
        HOLDER_TEMPLATE, b"".join(tlv.encode(t, v) for t, v in inner) + tlv.encode(0x9E, b"x")
    )
    assert HolderRecord.decode(with_extra).name == "张三"
    without_name = tlv.encode(
        HOLDER_TEMPLATE, b"".join(tlv.encode(t, v) for t, v in inner if t != HolderTag.NAME)
    )
    with pytest.raises(CardDataInvalid, match="NAME"):
        HolderRecord.decode(without_name)


def test_truncated_holder_file_is_invalid() -> None:
    with pytest.raises(CardDataInvalid, match="BER-TLV"):
        HolderRecord.decode(ZHANG_SAN.encode()[:-3])


def test_clone_is_not_authentic() -> None:
    with pytest.raises(CardNotAuthentic, match="challenge-response") as caught:
        read(genuine().clone())
    assert caught.value.reason == "signature"


def test_genuine_chip_with_swapped_photo_is_not_authentic() -> None:
    # A relay: the genuine chip answers the challenge, another photo file is served.
    card = genuine()
    card._files[PHOTO_FID] = b"\xff\xd8other face\xff\xd9"
    with pytest.raises(CardNotAuthentic, match="photo read is not the certified") as caught:
        read(card)
    assert caught.value.reason == "files"


def test_another_holders_files_relayed_to_a_genuine_chip_are_not_authentic() -> None:
    # Every readable byte of Li Si's card, the challenge passed to Zhang San's chip.
    li_si = CitizenCard.issue(LI_SI_EXPIRED, demo_photo(), DEMO_ISSUER)
    relay = genuine()
    relay._files = dict(li_si._files)
    relay._serial = LI_SI_EXPIRED.serial
    with pytest.raises(CardNotAuthentic, match="challenge-response"):
        read(relay)


def test_card_of_another_issuer_is_not_authentic() -> None:
    card = CitizenCard.issue(ZHANG_SAN, demo_photo(), IssuerSigningKey.generate())
    with pytest.raises(CardNotAuthentic, match="not signed by the issuer") as caught:
        read(card)
    assert caught.value.reason == "certificate"


def test_a_certificate_of_another_card_or_holder_is_not_authentic() -> None:
    card = genuine()
    certificate = decode_certificate(card._files[CERTIFICATE_FID])
    other = DEMO_ISSUER.certify(
        serial=certificate.serial,
        id_number="440305199003071236",
        holder_digest=certificate.holder_digest,
        photo_digest=certificate.photo_digest,
        card_public_key=certificate.card_public_key,
    )
    card._files[CERTIFICATE_FID] = encode_certificate(other)
    with pytest.raises(CardNotAuthentic, match="another card or holder"):
        read(card)


def test_a_card_without_a_certificate_is_not_authentic() -> None:
    card = genuine()
    del card._files[CERTIFICATE_FID]
    with pytest.raises(CardNotAuthentic, match="0103 missing"):
        read(card)
    card._files[CERTIFICATE_FID] = b"\x7f\x21\x03\x80\x01\x01"
    with pytest.raises(CardNotAuthentic, match="lacks"):
        read(card)


def test_certificate_round_trips() -> None:
    data = genuine()._files[CERTIFICATE_FID]
    assert encode_certificate(decode_certificate(data)) == data
    assert len(data) < 240  # one READ BINARY


def test_prove_gives_a_checked_answer_to_the_callers_challenge() -> None:
    card = genuine()
    challenge = new_challenge()
    proof = prove(
        AppletTransport(card), IssuerPublicKey.demo(), challenge, expected_serial=ZHANG_SAN.serial
    )
    assert proof.challenge == challenge and proof.serial == ZHANG_SAN.serial
    # The photo is not read again: only the certificate file is selected.
    transport = AppletTransport(card)
    prove(transport, IssuerPublicKey.demo(), challenge)
    selected = [c[5:7] for c in transport.commands if c[1] == 0xA4 and c[2] == 0x02]
    assert selected == [CERTIFICATE_FID.to_bytes(2, "big")]


def test_prove_refuses_another_card_and_a_clone() -> None:
    with pytest.raises(CardRemoved, match="another card"):
        prove(
            AppletTransport(genuine()),
            IssuerPublicKey.demo(),
            new_challenge(),
            expected_serial=LI_SI_EXPIRED.serial,
        )
    with pytest.raises(CardNotAuthentic, match="challenge-response"):
        prove(
            AppletTransport(genuine().clone()),
            IssuerPublicKey.demo(),
            new_challenge(),
            expected_serial=ZHANG_SAN.serial,
        )


def test_issued_card_with_bad_checksum_is_invalid_data() -> None:
    record = replace(ZHANG_SAN, id_number="110105194912310021")
    with pytest.raises(CardDataInvalid, match="rejected"):
        read(CitizenCard.issue(record, demo_photo(), DEMO_ISSUER))


def test_photo_that_is_not_jpeg_is_invalid_data() -> None:
    with pytest.raises(CardDataInvalid, match="JPEG"):
        read(CitizenCard.issue(ZHANG_SAN, b"GIF89a not a jpeg", DEMO_ISSUER))


def test_blank_card_is_unsupported() -> None:
    with pytest.raises(CardUnsupported):
        read(BlankCard())


def test_issuer_keys_repr_never_show_the_private_key() -> None:
    assert repr(IssuerSigningKey.demo()) == "IssuerSigningKey(<demo>)"
    assert repr(IssuerSigningKey.generate()) == "IssuerSigningKey(<secret>)"
    assert repr(IssuerPublicKey.demo()) == "IssuerPublicKey(<demo>)"
