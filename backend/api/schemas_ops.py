"""What the ops centre's API returns and accepts: alerts, commands, the fleet's overview, audit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AlertPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kiosk_id: str
    rule: str
    severity: str
    state: str
    detail: str
    value: float | None
    opened_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None


class AlertPage(BaseModel):
    items: list[AlertPublic]
    total: int
    limit: int
    offset: int


class CommandRequest(BaseModel):
    name: str = Field(
        description="restart_app, lock, unlock, print_test_page, sync_catalog, collect_diagnostics"
    )
    args: dict[str, Any] = Field(default_factory=dict)
    ttl_s: int | None = Field(default=None, ge=5, le=24 * 3600, description="expires after (s)")


class CommandPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kiosk_id: str
    name: str
    args: dict[str, Any]
    created_by: str
    created_at: datetime
    expires_at: datetime
    state: str  # sent, done, failed, expired, unsupported, timed_out
    result_at: datetime | None
    detail: str | None
    data: dict[str, Any] | None


class RegionCount(BaseModel):
    code: str
    name: str
    level: str
    total: int
    online: int
    children: list[RegionCount] = Field(default_factory=list)


class FleetOverview(BaseModel):
    total: int
    online: int
    offline: int
    open_alerts: dict[str, int]
    regions: RegionCount


class PlacementRequest(BaseModel):
    region_code: str = Field(
        pattern=r"^\d{6}(\d{3}){0,2}$", description="GB/T 2260 county code, or township/village"
    )
    site: str | None = Field(default=None, max_length=200)


class AuditEntryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    ts: datetime
    actor: str
    action: str
    target: str | None
    detail: dict[str, Any] | None
    hash: str


class AuditVerdictPublic(BaseModel):
    ok: bool
    entries: int
    first_bad_seq: int | None
    reason: str | None
