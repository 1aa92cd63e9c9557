"""Keyset pagination cursors: opaque to clients, stable under inserts."""

from __future__ import annotations

import base64
import json
from typing import Any


class BadCursor(ValueError):
    pass


def encode_cursor(*values: Any) -> str:
    raw = json.dumps(list(values), separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as err:
        raise BadCursor("cursor is not one this API gave out") from err
    if not isinstance(values, list) or len(values) != arity:
        raise BadCursor("cursor is not one this API gave out")
    return values
