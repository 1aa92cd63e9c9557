"""The identity read from a card, and the checks that make it trustworthy.

``CardIdentity`` is what the UI gets; it is only ever built from a complete,
authenticated read (see ``application.read_identity``). Its repr and str are
what ends up in logs and tracebacks, so they show the masked number and the
photo's size, never the full number, the address or the photo bytes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from stdnum import exceptions as stdnum_exceptions
from stdnum.cn import ric

from devices.errors import CardDataInvalid, CardExpired

logger = logging.getLogger(__name__)

LONG_TERM = "长期"  # printed on cards whose validity does not end (holders over 46)


def mask_id_number(number: str) -> str:
    """Keep the first 6 and last 4 characters: ``110105********002X`` hides the birth date."""
    if len(number) <= 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def mask_name(name: str) -> str:
    """``张*``, ``欧阳**``: the family name stays, as a person beside the holder may see it."""
    if len(name) <= 1:
        return name
    keep = 2 if len(name) >= 4 else 1
    return name[:keep] + "*" * (len(name) - keep)


@dataclass(frozen=True, repr=False)
class CardIdentity:
    """A citizen's identity as read from an authenticated card."""

    name: str
    id_number: str
    sex: str  # 男 / 女, as printed
    ethnicity: str  # 民族, as printed: 汉, 回, ...
    birth_date: date
    address: str
    issuing_authority: str
    valid_from: date
    valid_until: date | None  # None: 长期 (long-term)
    serial: str  # hex of the chip serial; identifies the card, not the person
    photo: bytes = field(compare=False)  # JPEG

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def masked_name(self) -> str:
        return mask_name(self.name)

    def __repr__(self) -> str:
        until = self.valid_until.isoformat() if self.valid_until else LONG_TERM
        return (
            f"CardIdentity(name={self.masked_name!r}, id_number={self.masked_id_number!r}, "
            f"valid_until={until!r}, serial={self.serial!r}, photo=<{len(self.photo)} bytes>)"
        )

    __str__ = __repr__


EARLIEST_BIRTH = date(1900, 1, 1)
CHINA = timezone(timedelta(hours=8))  # the birth date on a number is a date in China


def check_id_number(number: str, *, today: date | None = None) -> str:
    """The number in canonical form, or CardDataInvalid. python-stdnum does the checksum,
    and also rejects unknown address codes and birth dates that are not real dates; a birth
    date before 1900 or after today is refused here (as the backend's normalise_id_number)."""
    try:
        number = ric.validate(number)
    except stdnum_exceptions.ValidationError as err:
        raise CardDataInvalid(
            f"identity number {mask_id_number(number)} rejected: {err.message}"
        ) from err
    born = ric.get_birth_date(number)
    if not EARLIEST_BIRTH <= born <= (today or datetime.now(CHINA).date()):
        raise CardDataInvalid(
            f"identity number {mask_id_number(number)} rejected: "
            "the birth date is before 1900 or in the future"
        )
    return number


def check_consistency(number: str, birth_date: date, sex: str) -> None:
    """The number encodes the birth date and (by parity) the sex; they must agree."""
    if ric.get_birth_date(number) != birth_date:
        raise CardDataInvalid("birth date field does not match the identity number")
    expected = "男" if int(number[16]) % 2 else "女"
    if sex != expected:
        raise CardDataInvalid("sex field does not match the identity number")


def check_validity(valid_from: date, valid_until: date | None, today: date) -> None:
    """Raise CardExpired when ``today`` is outside the card's validity (both ends inclusive)."""
    if valid_until is not None and valid_until < valid_from:
        raise CardDataInvalid("validity ends before it starts")
    if today < valid_from:
        raise CardExpired(
            f"card not valid before {valid_from.isoformat()} (today {today.isoformat()})",
            key="card.not_yet_valid",
        )
    if valid_until is not None and today > valid_until:
        raise CardExpired(
            f"card expired on {valid_until.isoformat()} (today {today.isoformat()})",
            key="card.expired",
        )
