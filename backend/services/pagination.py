"""Keyset pagination cursors: opaque to clients, stable under inserts, and untrusted.

A cursor comes back from the client, so it is decoded like any input: each
value must have the type the query expects (``decode_cursor(cursor, datetime,
str)``), integers fit in 64 bits, strings are short and free of control
characters, times carry an offset and stay inside the calendar in UTC.
Anything else is ``BadCursor`` (400), never an error of the database.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any

MAX_CURSOR_CHARS = 512
MAX_TEXT = 200
INT64 = (-(2**63), 2**63 - 1)


class BadCursor(ValueError):
    def __init__(self, message: str = "翻页游标无效，请从第一页重新查询") -> None:
        super().__init__(message)


def encode_cursor(*values: Any) -> str:
    # UTF-8, not \u escapes: a character outside the BMP costs 4 bytes, not 12
    raw = json.dumps(list(values), separators=(",", ":"), ensure_ascii=False, default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _field(value: Any, kind: type) -> Any:
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise BadCursor()
        if not INT64[0] <= value <= INT64[1]:
            raise BadCursor()
        return value
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise BadCursor()
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise BadCursor()
    if kind is str:
        return value
    if kind is datetime:
        try:
            at = datetime.fromisoformat(value)
        except ValueError as err:
            raise BadCursor() from err
        if at.tzinfo is None or at.utcoffset() is None:
            raise BadCursor()
        try:
            return at.astimezone(UTC)
        except (OverflowError, ValueError) as err:  # past year 9999 or before year 1 in UTC
            raise BadCursor() from err
    raise TypeError(f"no cursor field of type {kind!r}")


def decode_cursor(cursor: str, *kinds: type) -> list[Any]:
    """The cursor's values, checked against ``kinds`` (int, str or datetime), or BadCursor."""
    if len(cursor) > MAX_CURSOR_CHARS:
        raise BadCursor()
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error, RecursionError) as err:
        raise BadCursor() from err
    if not isinstance(values, list) or len(values) != len(kinds):
        raise BadCursor()
    return [_field(v, k) for v, k in zip(values, kinds, strict=True)]
