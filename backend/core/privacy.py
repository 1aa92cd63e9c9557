"""Masking of personal data wherever a person or a log could see it."""

from __future__ import annotations

import re

_ID_NUMBER = re.compile(r"(?<![0-9])([1-9]\d{5})(\d{8})(\d{3}[0-9Xx])(?![0-9A-Za-z])")


def mask_identity_number(value: str) -> str:
    """``11010519491231002X`` -> ``110105********002X`` (keeps address code and last 4)."""
    if len(value) != 18:
        return "*" * len(value)
    return f"{value[:6]}{'*' * 8}{value[-4:]}"


def mask_identity_numbers_in(text: str) -> str:
    """Mask every 18-character identity number found anywhere in free text."""
    return _ID_NUMBER.sub(lambda m: f"{m.group(1)}{'*' * 8}{m.group(3)}", text)
