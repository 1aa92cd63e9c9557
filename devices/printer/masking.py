"""Identity and mobile numbers never reach paper in full.

``render`` and ``commands.encode_text``/``qr_code`` pass every piece of text
through ``mask_personal_numbers``, so a caller cannot print a full number
even by putting it in a footer, a service title or a QR payload:

* an 18-character resident identity number keeps its first 6 and last 4
  characters (``110105********002X``), which hides the birth date;
* a mainland mobile number keeps its first 3 and last 4 digits
  (``138****5678``), also when written ``138 1234 5678``, ``138-1234-5678``
  or with ``+86``.

What counts as an identity number is decided per token, privacy first:

* 17 digits and a digit or X, not part of a longer run of digits (full-width
  digits included: they print just as readably);
* masked when python-stdnum accepts it as an identity number (``stdnum.cn.ric``);
* also masked when its checksum or address code is wrong but it still looks
  like one (a province code and a real birth date): a mistyped number is
  still somebody's number;
* left alone when it is a valid unified social credit code that is not a
  valid identity number (an all-digit credit code such as
  ``914403001922038216`` is public and is the point of a licence print).

Reference numbers the kiosk makes itself must therefore not be 18 bare digits
shaped like region + date + sequence: such a token is masked (the receipt
numbers of ``kiosk/`` carry letters and hyphens, so they never are).
Identity numbers written with separators (``110105 19491231 002X``) and the
15-digit first-generation numbers are not recognised.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from stdnum.cn import ric, uscc

#: First two digits of an identity number: provinces (GB/T 2260), and 81/82/83
#: for the residence permits of Hong Kong, Macao and Taiwan residents.
PROVINCES = frozenset(
    (11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
     50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83)
)  # fmt: skip

# ``\d`` matches any decimal digit, full-width ones included.
_IDENTITY = re.compile(r"(?<!\d)\d{17}[\dXxＸｘ](?!\d)")
_MOBILE = re.compile(
    r"(?<!\d)(?P<prefix>(?:\+|＋)?86[ \-]?)?(?P<head>1[3-9]\d)[ \-]?\d{4}[ \-]?(?P<tail>\d{4})(?!\d)"
)


def _ascii(token: str) -> str:
    return unicodedata.normalize("NFKC", token).upper()


def _plausible_identity(number: str) -> bool:
    """A province code and a real birth date where an identity number has them."""
    if int(number[:2]) not in PROVINCES:
        return False
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return born.year >= 1880


def is_identity_number(token: str) -> bool:
    """True when an 18-character token must be treated as a resident identity number."""
    number = _ascii(token)
    if not re.fullmatch(r"\d{17}[\dX]", number):
        return False
    if ric.is_valid(number):
        return True
    if uscc.is_valid(number):
        return False
    return _plausible_identity(number)


def _mask_identity(match: re.Match[str]) -> str:
    token = match.group()
    return token[:6] + "*" * 8 + token[-4:] if is_identity_number(token) else token


def _mask_mobile(match: re.Match[str]) -> str:
    return f"{match['prefix'] or ''}{match['head']}****{match['tail']}"


def mask_personal_numbers(text: str) -> str:
    """``text`` with every identity number and mobile number masked; idempotent."""
    return _MOBILE.sub(_mask_mobile, _IDENTITY.sub(_mask_identity, text))
