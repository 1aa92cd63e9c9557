"""What the API returns, by resource: ``*Public`` for one item, ``*Page`` for a list."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class KioskPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    online: bool
    first_seen_at: datetime
    last_seen_at: datetime
    status_changed_at: datetime | None
    app_version: str | None
    outbox_depth: int | None
    outbox_oldest_age_s: float | None
    health_at: datetime | None
    clock_skew_s: float | None = None  # the kiosk's clock minus the backend's (seconds)


class KioskDetail(KioskPublic):
    health: dict[str, Any] | None
    event_count: int


class KioskPage(BaseModel):
    items: list[KioskPublic]
    total: int
    limit: int
    offset: int


class HealthSnapshotPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    ts: datetime
    received_at: datetime
    body: dict[str, Any]


class EventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kiosk_id: str
    seq: int | None
    kind: str
    ts: datetime
    received_at: datetime
    body: dict[str, Any]


class EventPage(BaseModel):
    items: list[EventPublic]
    next_cursor: str | None


class DeadLetterPublic(BaseModel):
    id: int
    received_at: datetime
    topic: str
    reason_code: str
    reason: str
    payload_size: int
    payload_preview: str  # first 2 KiB as text, identity and mobile numbers masked
    protection: str  # encrypted (an admin may reveal it) | masked_only | clear (before rewrap)


class DeadLetterPage(BaseModel):
    items: list[DeadLetterPublic]
    next_cursor: str | None


class Health(BaseModel):
    status: str
    database: str
