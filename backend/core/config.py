"""The backend's one typed Settings, from ``FLEET_*`` environment variables, read once."""

from __future__ import annotations

import socket
from functools import lru_cache

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from mqtt.client import BrokerUrl


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FLEET_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///var/fleet.db",
        description="FLEET_DATABASE_URL: SQLAlchemy URL; a SQLite file by default, PostgreSQL at scale",
    )
    mqtt_url: str = Field(default="mqtt://127.0.0.1:1883", description="FLEET_MQTT_URL")
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

    @field_validator("mqtt_url")
    @classmethod
    def _url(cls, value: str) -> str:
        BrokerUrl.parse(value)
        return value

    @property
    def broker(self) -> BrokerUrl:
        return BrokerUrl.parse(self.mqtt_url)


@lru_cache
def get_settings() -> Settings:
    return Settings()
