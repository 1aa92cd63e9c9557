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


class AuditFindingPublic(BaseModel):
    kind: str = Field(
        description="missing, renumbered, swapped, rewritten, rechained, forged, unkeyed, head_*, cp_*"
    )
    seq: int | None = Field(description="the first entry concerned")
    end: int | None = Field(description="the last entry concerned, for ranges")
    fields: list[str] = Field(description="rewritten: the fields that changed")
    message: str = Field(description="中文说明")
    message_en: str


class AuditCheckpointPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int = Field(description="its line in the checkpoint file")
    at: str
    entries: int
    last_seq: int
    last_mac: str
    signer: str


class AuditVerdictPublic(BaseModel):
    ok: bool
    entries: int
    first_bad_seq: int | None
    reason: str | None
    legacy: int = Field(description="leading entries of earlier versions: unkeyed SHA-256 only")
    keyed: int = Field(description="entries MACed with the audit key")
    findings: list[AuditFindingPublic]
    checkpoints: int = Field(description="signed checkpoints checked against")
    checkpoint: AuditCheckpointPublic | None = Field(description="the latest one")


class AuditCheckpointKey(BaseModel):
    algorithm: str = "Ed25519"
    signer: str = Field(description="the key's id, named in every checkpoint")
    public_key_pem: str
