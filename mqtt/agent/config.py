"""The agent's one typed Settings, from ``KIOSK_*`` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from mqtt.contract.topics import valid_kiosk_id
from mqtt.settings import MqttClientSettings


class AgentSettings(MqttClientSettings):
    model_config = SettingsConfigDict(env_prefix="KIOSK_", extra="ignore")

    id: str = Field(default="demo-kiosk-01", description="KIOSK_ID: this kiosk's id")
    data_dir: Path = Field(
        default=Path("var/kiosk"), description="KIOSK_DATA_DIR: SQLite file here"
    )
    health_interval_s: float = Field(default=30.0, gt=0, description="KIOSK_HEALTH_INTERVAL_S")
    ack_timeout_s: float = Field(
        default=15.0, gt=0, description="KIOSK_ACK_TIMEOUT_S: resend after"
    )
    window: int = Field(default=5000, ge=1, le=100_000, description="KIOSK_WINDOW: max unconfirmed")
    session_expiry_s: int = Field(default=7 * 24 * 3600, ge=0, description="KIOSK_SESSION_EXPIRY_S")
    keepalive_s: int = Field(default=30, ge=5, le=3600, description="KIOSK_KEEPALIVE_S")
    app_command_timeout_s: float = Field(
        default=120.0,
        gt=0,
        description="KIOSK_APP_COMMAND_TIMEOUT_S: a command the app took but did not finish fails",
    )

    @field_validator("id")
    @classmethod
    def _kiosk_id(cls, value: str) -> str:
        if not valid_kiosk_id(value):
            raise ValueError("kiosk id must match [a-z0-9][a-z0-9-]{2,63}")
        return value

    @property
    def db_path(self) -> Path:
        return self.data_dir / "kiosk.db"
