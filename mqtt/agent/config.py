"""The agent's one typed Settings, from ``KIOSK_*`` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from mqtt.client import BrokerUrl, TlsFiles
from mqtt.contract.topics import valid_kiosk_id


class AgentSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KIOSK_", extra="ignore")

    id: str = Field(default="demo-kiosk-01", description="KIOSK_ID: this kiosk's id")
    mqtt_url: str = Field(default="mqtt://127.0.0.1:1883", description="KIOSK_MQTT_URL")
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
    mqtt_ca_file: Path | None = Field(
        default=None, description="KIOSK_MQTT_CA_FILE: CA of the broker's certificate (mqtts://)"
    )
    mqtt_cert_file: Path | None = Field(
        default=None,
        description="KIOSK_MQTT_CERT_FILE: this kiosk's device certificate (from enrolment)",
    )
    mqtt_key_file: Path | None = Field(
        default=None, description="KIOSK_MQTT_KEY_FILE: its private key"
    )

    @field_validator("id")
    @classmethod
    def _kiosk_id(cls, value: str) -> str:
        if not valid_kiosk_id(value):
            raise ValueError("kiosk id must match [a-z0-9][a-z0-9-]{2,63}")
        return value

    @field_validator("mqtt_url")
    @classmethod
    def _url(cls, value: str) -> str:
        BrokerUrl.parse(value)
        return value

    @property
    def broker(self) -> BrokerUrl:
        return BrokerUrl.parse(self.mqtt_url)

    @model_validator(mode="after")
    def _tls_pair(self) -> Self:
        if (self.mqtt_cert_file is None) != (self.mqtt_key_file is None):
            raise ValueError("set both KIOSK_MQTT_CERT_FILE and KIOSK_MQTT_KEY_FILE, or neither")
        return self

    @property
    def tls(self) -> TlsFiles:
        return TlsFiles(self.mqtt_ca_file, self.mqtt_cert_file, self.mqtt_key_file)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "kiosk.db"
