"""The broker settings every MQTT program shares, whatever its prefix (``KIOSK_``, ``FLEET_``).

``<PREFIX>MQTT_URL`` (``mqtt://`` or ``mqtts://``) and, for TLS, the CA to
trust and this client's certificate and key (``<PREFIX>MQTT_CA_FILE``,
``..._CERT_FILE``, ``..._KEY_FILE``). Each program's Settings inherits this.
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings

from mqtt.client import BrokerUrl, TlsFiles


class MqttClientSettings(BaseSettings):
    mqtt_url: str = Field(default="mqtt://127.0.0.1:1883", description="MQTT_URL: the broker")
    mqtt_ca_file: Path | None = Field(
        default=None, description="MQTT_CA_FILE: CA of the broker's certificate (mqtts://)"
    )
    mqtt_cert_file: Path | None = Field(
        default=None, description="MQTT_CERT_FILE: this client's certificate (from enrolment)"
    )
    mqtt_key_file: Path | None = Field(default=None, description="MQTT_KEY_FILE: its private key")

    @field_validator("mqtt_url")
    @classmethod
    def _mqtt_url(cls, value: str) -> str:
        BrokerUrl.parse(value)
        return value

    @model_validator(mode="after")
    def _tls_pair(self) -> Self:
        if (self.mqtt_cert_file is None) != (self.mqtt_key_file is None):
            prefix = self.model_config.get("env_prefix", "")
            raise ValueError(
                f"set both {prefix}MQTT_CERT_FILE and {prefix}MQTT_KEY_FILE, or neither"
            )
        return self

    @property
    def broker(self) -> BrokerUrl:
        return BrokerUrl.parse(self.mqtt_url)

    @property
    def tls(self) -> TlsFiles:
        return TlsFiles(self.mqtt_ca_file, self.mqtt_cert_file, self.mqtt_key_file)
