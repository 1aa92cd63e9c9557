"""The backend's one typed Settings, from ``FLEET_*`` environment variables, read once."""

from __future__ import annotations

import socket
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from mqtt.client import BrokerUrl
from mqtt.settings import MqttClientSettings


class Settings(MqttClientSettings):
    model_config = SettingsConfigDict(env_prefix="FLEET_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///var/fleet.db",
        description="FLEET_DATABASE_URL: SQLAlchemy URL; a SQLite file by default, PostgreSQL at scale",
    )
    ingest_name: str = Field(
        default_factory=socket.gethostname,
        description="FLEET_INGEST_NAME: stable per ingest process (its MQTT client id)",
    )
    ingest_group: str = Field(
        default="ingest", description="FLEET_INGEST_GROUP: shared-subscription group"
    )
    ingest_batch_size: int = Field(
        default=1000, ge=1, le=5000, description="FLEET_INGEST_BATCH_SIZE"
    )
    ingest_batch_ms: int = Field(default=50, ge=1, le=5000, description="FLEET_INGEST_BATCH_MS")
    ingest_session_expiry_s: int = Field(
        default=60,
        ge=0,
        description="FLEET_INGEST_SESSION_EXPIRY_S: how long the broker keeps a stopped ingest's queue",
    )

    health_retention_days: float = Field(
        default=14, gt=0, description="FLEET_HEALTH_RETENTION_DAYS: health history kept this long"
    )

    ca_dir: Path = Field(default=Path("var/ca"), description="FLEET_CA_DIR: the fleet CA's folder")
    broker_public_url: str = Field(
        default="mqtts://127.0.0.1:8883",
        description="FLEET_BROKER_PUBLIC_URL: the broker address given to enrolled kiosks",
    )
    enrol_code_ttl_hours: float = Field(
        default=72,
        gt=0,
        le=24 * 30,
        description="FLEET_ENROL_CODE_TTL_HOURS: default code lifetime",
    )

    @field_validator("broker_public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        BrokerUrl.parse(value)
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
