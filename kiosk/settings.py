"""The kiosk app's one typed Settings, read once from ``KIOSK_*`` environment variables.

The device variables are those of ``devices/README.md`` (``KIOSK_CARD_READER``,
``KIOSK_CAMERA``, ``KIOSK_PRINTER``, ...); ``kiosk --sim`` overrides them with
the simulators. The backend address and the kiosk's key and certificate come
from ``kioskctl enrol`` (``kiosk.env``); without them the kiosk runs offline
from its catalog cache, which is what a fresh demo or training laptop does.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from mqtt.contract.topics import valid_kiosk_id

DEFAULT_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")


class KioskAppSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KIOSK_", extra="ignore")

    id: str = Field(default="demo-kiosk-01", description="KIOSK_ID: this kiosk's id")
    data_dir: Path = Field(default=Path("var/kiosk"), description="KIOSK_DATA_DIR: kiosk.db here")
    sim: bool = Field(default=False, description="KIOSK_SIM: simulated devices and sim panel")
    backend_url: str | None = Field(
        default=None, description="KIOSK_BACKEND_URL: the fleet backend (from kioskctl enrol)"
    )
    config_dir: Path = Field(
        default=Path("/etc/govkiosk"), description="KIOSK_CONFIG_DIR: kiosk.key and kiosk.crt"
    )
    mqtt_url: str = Field(default="mqtt://127.0.0.1:1883", description="KIOSK_MQTT_URL")
    mqtt_key_file: Path | None = Field(default=None, description="KIOSK_MQTT_KEY_FILE: kiosk.key")
    mqtt_cert_file: Path | None = Field(default=None, description="KIOSK_MQTT_CERT_FILE: kiosk.crt")
    backend_timeout_s: float = Field(default=3.0, gt=0, description="KIOSK_BACKEND_TIMEOUT_S")
    idle_timeout_s: float = Field(default=60.0, gt=0, description="KIOSK_IDLE_TIMEOUT_S")
    countdown_s: float = Field(default=10.0, ge=0, description="KIOSK_COUNTDOWN_S")
    max_face_attempts: int = Field(default=3, ge=1, le=10, description="KIOSK_MAX_FACE_ATTEMPTS")
    card_reader: str = Field(default="pcsc", description="KIOSK_CARD_READER: pcsc or sim")
    card_issuer_public_key: str | None = Field(
        default=None,
        description="KIOSK_CARD_ISSUER_PUBLIC_KEY: the card issuer's Ed25519 public key (hex)",
    )
    card_issuer_key: str | None = Field(
        default=None,
        description="KIOSK_CARD_ISSUER_KEY: obsolete (the symmetric master key); remove it",
    )
    card_reader_name: str | None = Field(default=None, description="KIOSK_CARD_READER_NAME")
    camera: str = Field(default="0", description="KIOSK_CAMERA: 0, /dev/video0, folder:PATH ...")
    printer: str = Field(default="usb:0416:5011", description="KIOSK_PRINTER: usb:, network:, sim")
    technician_pin: str = Field(
        default="", description="KIOSK_TECHNICIAN_PIN: digits; empty = technician card only"
    )
    technician_cards: str = Field(
        default="", description="KIOSK_TECHNICIAN_CARDS: chip serials (hex, comma-separated)"
    )
    font: Path = Field(default=DEFAULT_FONT, description="KIOSK_FONT: a font with Chinese glyphs")
    width: int = Field(default=1080, ge=320, description="KIOSK_WIDTH: window width (px)")
    height: int = Field(default=1920, ge=320, description="KIOSK_HEIGHT: window height (px)")
    fullscreen: bool = Field(default=False, description="KIOSK_FULLSCREEN")
    command_poll_s: float = Field(default=2.0, gt=0, description="KIOSK_COMMAND_POLL_S")
    catalog_sync_s: float = Field(default=600.0, gt=0, description="KIOSK_CATALOG_SYNC_S")
    device_poll_s: float = Field(
        default=10.0, gt=0, description="KIOSK_DEVICE_POLL_S: seconds between device health probes"
    )
    receipt_url: str = Field(
        default="https://zwfw.example.gov.cn/app/#/applications/",
        description=(
            "KIOSK_RECEIPT_URL: prefix of the receipt's QR link, followed by the receipt number:"
            " the mini-app's progress page for it (the citizen logs in to see it)"
        ),
    )

    @field_validator("id")
    @classmethod
    def _kiosk_id(cls, value: str) -> str:
        if not valid_kiosk_id(value):
            raise ValueError("kiosk id must match [a-z0-9][a-z0-9-]{2,63}")
        return value

    @field_validator("technician_pin")
    @classmethod
    def _pin(cls, value: str) -> str:
        if value and (not value.isdigit() or len(value) < 6):
            raise ValueError("KIOSK_TECHNICIAN_PIN must be at least 6 digits")
        return value

    @property
    def technician_serials(self) -> frozenset[str]:
        return frozenset(s.strip().upper() for s in self.technician_cards.split(",") if s.strip())

    @property
    def db_path(self) -> Path:
        return self.data_dir / "kiosk.db"

    @property
    def key_file(self) -> Path:
        return self.mqtt_key_file or self.config_dir / "kiosk.key"

    @property
    def cert_file(self) -> Path:
        return self.mqtt_cert_file or self.config_dir / "kiosk.crt"

    def simulated(self) -> KioskAppSettings:
        """The same settings with every device simulated (``kiosk --sim``)."""
        return self.model_copy(
            update={"sim": True, "card_reader": "sim", "printer": "sim", "camera": "sim"}
        )
