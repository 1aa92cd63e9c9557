"""The citizen-card application end to end against the card-side applet, in process."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from devices.card import tlv
from devices.card.applet import Applet, BlankCard, CitizenCard
from devices.card.application import AID, HOLDER_TEMPLATE, HolderRecord, HolderTag, read_identity
from devices.card.auth import IssuerKey
from devices.card.demo import ZHANG_SAN, demo_photo
from devices.errors import CardDataInvalid, CardNotAuthentic, CardUnsupported

TODAY = date(2026, 1, 1)


class AppletTransport:
    """Hands APDUs straight to an applet and records them."""

    def __init__(self, applet: Applet) -> None:
        self.applet = applet
        self.commands: list[bytes] = []

    def transmit(self, apdu: bytes) -> bytes:
        self.commands.append(apdu)
        return self.applet.process(apdu)


def read(applet: Applet, key: IssuerKey | None = None) -> object:
    return read_identity(AppletTransport(applet), key or IssuerKey.demo(), today=lambda: TODAY)


def test_genuine_card_selects_by_aid_and_reads_photo_in_chunks() -> None:
    transport = AppletTransport(CitizenCard.issue(ZHANG_SAN, demo_photo(), IssuerKey.demo()))

    identity = read_identity(transport, IssuerKey.demo(), today=lambda: TODAY)

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
    genuine = CitizenCard.issue(ZHANG_SAN, demo_photo(), IssuerKey.demo())
    with pytest.raises(CardNotAuthentic):
        read(genuine.clone())


def test_genuine_chip_with_swapped_photo_is_not_authentic() -> None:
    key = IssuerKey.demo()
    card_key = key.card_key(ZHANG_SAN.serial, ZHANG_SAN.id_number)
    # The chip's key and digests are genuine; the photo file served is another one.
    genuine = CitizenCard.issue(ZHANG_SAN, demo_photo(), key)
    swapped = CitizenCard(ZHANG_SAN.encode(), b"\xff\xd8other face\xff\xd9", card_key)
    swapped._digests = genuine._digests
    with pytest.raises(CardNotAuthentic):
        read(swapped)


def test_card_of_another_issuer_is_not_authentic() -> None:
    card = CitizenCard.issue(ZHANG_SAN, demo_photo(), IssuerKey(b"someone else's master key"))
    with pytest.raises(CardNotAuthentic):
        read(card)


def test_issued_card_with_bad_checksum_is_invalid_data() -> None:
    record = replace(ZHANG_SAN, id_number="110105194912310021")
    with pytest.raises(CardDataInvalid, match="rejected"):
        read(CitizenCard.issue(record, demo_photo(), IssuerKey.demo()))


def test_photo_that_is_not_jpeg_is_invalid_data() -> None:
    with pytest.raises(CardDataInvalid, match="JPEG"):
        read(CitizenCard.issue(ZHANG_SAN, b"GIF89a not a jpeg", IssuerKey.demo()))


def test_blank_card_is_unsupported() -> None:
    with pytest.raises(CardUnsupported):
        read(BlankCard())


def test_issuer_key_repr_hides_the_key() -> None:
    assert "NOT-SECRET" not in repr(IssuerKey.demo())
    assert repr(IssuerKey(b"0123456789abcdef")) == "IssuerKey(<secret>)"
