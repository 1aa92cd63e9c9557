"""The envelope every message travels in.

``{"v": 1, "id": "<uuid>", "kiosk": "<id>", "ts": "<RFC 3339 UTC>", "kind": "<kind>",
"seq": <int, optional>, "body": {...}}``, JSON, at most 64 KiB.

``seq`` is the kiosk outbox's sequence number for events: redelivery can
reorder arrivals, ``seq`` keeps each kiosk's own order recoverable.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

VERSION = 1
MAX_MESSAGE_BYTES = 64 * 1024


def utc_now() -> datetime:
    return datetime.now(UTC)


def require_utc(value: datetime) -> datetime:
    """RFC 3339 in UTC: an offset other than zero is refused, not converted."""
    if value.utcoffset() != timedelta(0):
        raise ValueError("timestamp must be in UTC (suffix Z or +00:00)")
    return value.astimezone(UTC)


class Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Literal[1]
    id: uuid.UUID
    kiosk: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{2,63}$")
    ts: AwareDatetime
    kind: str = Field(min_length=1, max_length=64)
    seq: int | None = Field(default=None, ge=0)
    body: dict[str, Any]

    _utc = field_validator("ts")(require_utc)
