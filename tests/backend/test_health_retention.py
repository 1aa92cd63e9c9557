"""Health history is pruned past retention; the latest health on the kiosk row stays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select

from backend.core.config import Settings
from backend.core.db import make_sessionmaker
from backend.ingest.consumer import Ingest
from backend.ingest.pipeline import Raw, store_batch
from backend.models import HealthSnapshot, Kiosk
from mqtt.contract import Channel, encode, make_envelope, topic
from mqtt.contract.messages import HealthBody


def snapshot(ts: datetime) -> Raw:
    body = HealthBody(
        disk_free_bytes=1, disk_total_bytes=2, app_version="1", uptime_s=1, outbox_depth=0
    )
    return Raw(
        topic("k-001", Channel.HEALTH), encode(make_envelope("k-001", "health", body, ts=ts))
    )


def test_ingest_housekeeping_prunes_old_health(fleet_db: Engine, fleet_db_url: str) -> None:
    now = datetime.now(UTC)
    sessions = make_sessionmaker(fleet_db)
    store_batch(sessions, [snapshot(now - timedelta(days=d)) for d in (30, 20, 3, 0)])
    ingest = Ingest(Settings(database_url=fleet_db_url, health_retention_days=14))
    ingest.housekeeping()
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(HealthSnapshot)) == 2
        assert session.get(Kiosk, "k-001").health_at == now
