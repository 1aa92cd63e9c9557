"""Masking of personal data wherever a person or a log could see it.

``find_personal_numbers`` is the one finder: identity numbers (18 digits
with a valid check digit and birth date, and the old 15-digit ones) and
mainland mobile numbers (``1[3-9]`` and 9 more digits), written with or
without separators (``138 0013 8000``, ``110105-19491231-002X``) and in
full-width digits (``１３８００１３８０００``). ``mask_personal_data`` masks what it
finds in free text before it is stored; the test suite's privacy scanner
(tests/privacy_scan.py) uses the same finder on every file the tests leave.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_ID_NUMBER = re.compile(r"(?<![0-9])([1-9]\d{5})(\d{8})(\d{3}[0-9Xx])(?![0-9A-Za-z])")

# Full-width digits and X, as an input method may type them.
_WIDE = str.maketrans("０１２３４５６７８９Ｘｘx", "0123456789XXX")
_DIGIT = "0-9０-９"
# A run of digit groups joined by at most one separator each (space, hyphen, dot...).
_SEP = r"(?:[ \t\u3000]*[-－‐‑–—.·・/][ \t\u3000]*|[ \t\u3000]+)"
_GROUP = rf"[{_DIGIT}]+[XxＸｘ]?"
_RUN = re.compile(rf"(?<![{_DIGIT}]){_GROUP}(?:{_SEP}{_GROUP})*")
_GROUP_IN_RUN = re.compile(_GROUP)
_PHONE = re.compile(r"1[3-9]\d{9}")
_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


@dataclass(frozen=True)
class Found:
    """One personal number in a text: ``kind`` is ``ric``, ``ric15`` or ``phone``."""

    kind: str
    start: int
    end: int
    value: str  # compact: separators removed, full-width digits made ASCII

    @property
    def masked(self) -> str:
        return mask_number(self.kind, self.value)


def _valid_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def ric_check_digit(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return "10X98765432"[total % 11]


def is_full_identity_number(value: str) -> bool:
    """18 characters, a plausible birth date (1900-2099) and the right check digit."""
    if len(value) != 18 or not value[:17].isdigit() or value[0] == "0":
        return False
    year, month, day = int(value[6:10]), int(value[10:12]), int(value[12:14])
    if not 1900 <= year <= 2099 or not _valid_date(year, month, day):
        return False
    return ric_check_digit(value[:17]) == value[17].upper()


def _is_old_identity_number(value: str) -> bool:
    if len(value) != 15 or not value.isdigit() or value[0] == "0":
        return False
    return _valid_date(1900 + int(value[6:8]), int(value[8:10]), int(value[10:12]))


def _kind_of(value: str) -> str | None:
    if is_full_identity_number(value):
        return "ric"
    if _is_old_identity_number(value):
        return "ric15"
    if len(value) == 11 and _PHONE.fullmatch(value):
        return "phone"
    return None


def find_personal_numbers(text: str) -> list[Found]:
    """Every identity or mobile number in ``text``, in order, however it is written."""
    found: list[Found] = []
    for run in _RUN.finditer(text):
        groups = [
            (m.start() + run.start(), m.end() + run.start(), m.group().translate(_WIDE))
            for m in _GROUP_IN_RUN.finditer(run.group())
        ]
        i = 0
        while i < len(groups):
            best: tuple[int, Found] | None = None
            value = ""
            for j in range(i, len(groups)):
                if "X" in value:  # X ends an identity number: nothing may follow it
                    break
                value += groups[j][2]
                if len(value) > 18:
                    break
                kind = _kind_of(value)
                if kind is not None:
                    best = (j, Found(kind, groups[i][0], groups[j][1], value))
            if best is None:
                i += 1
                continue
            found.append(best[1])
            i = best[0] + 1
    return found


def mask_number(kind: str, value: str) -> str:
    if kind == "ric":
        return mask_identity_number(value)
    if kind == "ric15":
        return f"{value[:6]}{'*' * 6}{value[-3:]}"
    return f"{value[:3]}****{value[-4:]}" if len(value) == 11 else "*" * len(value)


def mask_personal_data(text: str) -> str:
    """Free text with every identity and mobile number in it masked (``138****8000``)."""
    if not text:
        return text
    found = find_personal_numbers(text)
    if not found:
        return text
    parts, last = [], 0
    for f in found:
        parts += [text[last : f.start], f.masked]
        last = f.end
    parts.append(text[last:])
    return "".join(parts)


def mask_identity_number(value: str) -> str:
    """``11010519491231002X`` -> ``110105********002X`` (keeps address code and last 4)."""
    if len(value) != 18:
        return "*" * len(value)
    return f"{value[:6]}{'*' * 8}{value[-4:]}"


def mask_identity_numbers_in(text: str) -> str:
    """Mask every 18-character identity number found anywhere in free text."""
    return _ID_NUMBER.sub(lambda m: f"{m.group(1)}{'*' * 8}{m.group(3)}", text)
