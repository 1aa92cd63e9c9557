"""Demo cards: the people, photos and card kinds used by ``--sim``, training and tests.

Every card here is certified with the published demo issuer key, so a kiosk
only accepts them when it trusts that key's public half (simulator, training,
tests).
The identity numbers pass the GB 11643 checksum; the people are invented.
The photo is an official portrait by the US federal government (public
domain), scaled to an identity-card photo's 358x441 pixels; face-verification
tests compare live frames against the same person.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from pathlib import Path

from devices.card.applet import Applet, BlankCard, CitizenCard
from devices.card.application import HolderRecord
from devices.card.auth import IssuerSigningKey

PHOTO_PATH = Path(__file__).with_name("demo") / "photo.jpg"

ZHANG_SAN = HolderRecord(
    serial=bytes.fromhex("4B10000000000001"),
    name="张三",
    id_number="11010519491231002X",
    sex="女",  # sequence 002 is even
    ethnicity="汉",
    birth_date="19491231",
    address="北京市西城区复兴门内大街101号",
    issuing_authority="北京市公安局西城分局",
    valid_from="20190520",
    valid_until="长期",  # holders over 46 get long-term cards
)

LI_SI_EXPIRED = HolderRecord(
    serial=bytes.fromhex("4B10000000000002"),
    name="李四",
    id_number="440305199003071236",
    sex="男",
    ethnicity="汉",
    birth_date="19900307",
    address="广东省深圳市南山区科技园南路8号",
    issuing_authority="深圳市公安局南山分局",
    valid_from="20080410",
    valid_until="20180410",  # ten years, for holders aged 16 to 25
)

WANG_WU_NOT_YET_VALID = HolderRecord(
    serial=bytes.fromhex("4B10000000000003"),
    name="王五",
    id_number="11010519491231002X",
    sex="女",
    ethnicity="汉",
    birth_date="19491231",
    address="北京市西城区复兴门内大街101号",
    issuing_authority="北京市公安局西城分局",
    valid_from="20990101",  # a replacement card whose validity starts in the future
    valid_until="长期",
)


class DemoCard(StrEnum):
    """The kinds of card the simulator and the virtual card can present."""

    GENUINE = "genuine"
    CLONE = "clone"
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"
    BLANK = "blank"


@cache
def demo_photo() -> bytes:
    return PHOTO_PATH.read_bytes()


def make_demo_card(kind: DemoCard | str, issuer_key: IssuerSigningKey | None = None) -> Applet:
    """A fresh card of ``kind`` (its own new key pair), certified with ``issuer_key``
    (default: the demo issuer key)."""
    kind = DemoCard(kind)
    key = issuer_key or IssuerSigningKey.demo()
    if kind is DemoCard.BLANK:
        return BlankCard()
    record = {
        DemoCard.EXPIRED: LI_SI_EXPIRED,
        DemoCard.NOT_YET_VALID: WANG_WU_NOT_YET_VALID,
    }.get(kind, ZHANG_SAN)
    card = CitizenCard.issue(record, demo_photo(), key)
    return card.clone() if kind is DemoCard.CLONE else card
