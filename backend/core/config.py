"""The backend's one typed Settings, from ``FLEET_*`` environment variables, read once."""

from __future__ import annotations

import socket
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from mqtt.client import BrokerUrl, TlsFiles
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

    # Ops centre (backend/ops, backend/alerts): log-in sessions, alert rules, commands.
    session_hours: float = Field(
        default=8, gt=0, le=24 * 7, description="FLEET_SESSION_HOURS: ops log-in session lifetime"
    )
    cookie_secure: bool = Field(
        default=False,
        description="FLEET_COOKIE_SECURE: mark the session cookie Secure (behind HTTPS)",
    )
    alert_interval_s: float = Field(
        default=15, ge=0, description="FLEET_ALERT_INTERVAL_S: rule evaluation period (0: off)"
    )
    alert_clock_skew_s: float = Field(
        default=120,
        gt=0,
        description="FLEET_ALERT_CLOCK_SKEW_S: a kiosk clock off by more than this raises an alert",
    )
    alert_offline_after_s: float = Field(
        default=300, gt=0, description="FLEET_ALERT_OFFLINE_AFTER_S: silent this long = offline"
    )
    alert_face_window_s: float = Field(
        default=3600, gt=0, description="FLEET_ALERT_FACE_WINDOW_S: face failure-rate window"
    )
    alert_face_min_attempts: int = Field(
        default=10, ge=1, description="FLEET_ALERT_FACE_MIN_ATTEMPTS: fewer are not judged"
    )
    alert_face_failure_rate: float = Field(
        default=0.3, gt=0, le=1, description="FLEET_ALERT_FACE_FAILURE_RATE: above this, alert"
    )
    alert_backlog_depth: int = Field(
        default=500, ge=1, description="FLEET_ALERT_BACKLOG_DEPTH: unsent events for an alert"
    )
    alert_backlog_age_s: float = Field(
        default=600, gt=0, description="FLEET_ALERT_BACKLOG_AGE_S: oldest unsent event this old"
    )
    alert_backlog_growth: int = Field(
        default=200, ge=1, description="FLEET_ALERT_BACKLOG_GROWTH: more unsent events than before"
    )
    alert_backlog_window_s: float = Field(
        default=600, gt=0, description="FLEET_ALERT_BACKLOG_WINDOW_S: ... this long ago"
    )
    alert_disk_free_ratio: float = Field(
        default=0.1, gt=0, lt=1, description="FLEET_ALERT_DISK_FREE_RATIO: less free = alert"
    )
    alert_webhook_url: str | None = Field(
        default=None, description="FLEET_ALERT_WEBHOOK_URL: POST each alert change here (JSON)"
    )
    command_ttl_s: int = Field(
        default=300, ge=5, le=24 * 3600, description="FLEET_COMMAND_TTL_S: a command expires after"
    )
    command_timeout_s: int = Field(
        default=360, ge=5, le=24 * 3600, description="FLEET_COMMAND_TIMEOUT_S: no reply = timed out"
    )
    publisher_name: str = Field(
        default_factory=socket.gethostname,
        description="FLEET_PUBLISHER_NAME: the web process's MQTT client id is fleet-web-{name}",
    )
    # The web process's own broker identity (fleet.web) where the broker requires certificates:
    # with use_username_as_clientid, sharing ingest's certificate would disconnect ingest.
    mqtt_publisher_ca_file: Path | None = Field(
        default=None, description="FLEET_MQTT_PUBLISHER_CA_FILE (default FLEET_MQTT_CA_FILE)"
    )
    mqtt_publisher_cert_file: Path | None = Field(
        default=None, description="FLEET_MQTT_PUBLISHER_CERT_FILE: fleet.web's certificate"
    )
    mqtt_publisher_key_file: Path | None = Field(
        default=None, description="FLEET_MQTT_PUBLISHER_KEY_FILE: its private key"
    )

    @property
    def publisher_tls(self) -> TlsFiles:
        """The web publisher's TLS files; never ingest's client certificate (see above)."""
        return TlsFiles(
            self.mqtt_publisher_ca_file or self.mqtt_ca_file,
            self.mqtt_publisher_cert_file,
            self.mqtt_publisher_key_file,
        )

    # The audit log's signed checkpoints, kept outside the database (backend/services/audit.py).
    audit_checkpoint_file: Path = Field(
        default=Path("var/audit-checkpoints.jsonl"),
        description="FLEET_AUDIT_CHECKPOINT_FILE: signed audit checkpoints are appended here",
    )
    audit_checkpoint_interval_s: float = Field(
        default=600,
        ge=0,
        description="FLEET_AUDIT_CHECKPOINT_INTERVAL_S: how often `serve` writes one (0: off)",
    )
    audit_checkpoint_url: str | None = Field(
        default=None,
        description="FLEET_AUDIT_CHECKPOINT_URL: also POST each checkpoint here (a write-once log)",
    )

    # Government services (catalog, citizens, applications): see backend/gov/.
    data_dir: Path = Field(
        default=Path("data"),
        description="FLEET_DATA_DIR: the demo catalog and citizens loaded by `load-demo`",
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="FLEET_PUBLIC_BASE_URL: where citizens reach the backend (verify QR codes)",
    )
    kiosk_citizen_token_minutes: float = Field(
        default=10, gt=0, le=60, description="FLEET_KIOSK_CITIZEN_TOKEN_MINUTES: kiosk session"
    )
    app_token_minutes: float = Field(
        default=120, gt=0, le=24 * 60, description="FLEET_APP_TOKEN_MINUTES: mini-app session"
    )
    sms_code_ttl_s: int = Field(default=300, ge=30, le=3600, description="FLEET_SMS_CODE_TTL_S")
    sms_min_interval_s: int = Field(
        default=60, ge=0, le=3600, description="FLEET_SMS_MIN_INTERVAL_S: between two codes"
    )
    sms_max_per_hour: int = Field(
        default=5, ge=1, le=100, description="FLEET_SMS_MAX_PER_HOUR: codes per phone number"
    )
    login_max_failures: int = Field(
        default=5, ge=1, le=50, description="FLEET_LOGIN_MAX_FAILURES: wrong codes before lockout"
    )
    login_lockout_minutes: float = Field(
        default=15, gt=0, le=24 * 60, description="FLEET_LOGIN_LOCKOUT_MINUTES"
    )
    max_phones_per_citizen: int = Field(
        default=3,
        ge=1,
        le=20,
        description="FLEET_MAX_PHONES_PER_CITIZEN: phones bound to one citizen at once",
    )
    face_check: Literal["off", "sandbox"] = Field(
        default="off",
        description="FLEET_FACE_CHECK: face check against the registry photo for phone binding "
        "(sandbox: the built-in test vendor)",
    )
    sms_gateway_url: str | None = Field(
        default=None,
        description="FLEET_SMS_GATEWAY_URL: POST {phone, text} here to send an SMS (unset: dev files)",
    )
    dev_outbox_dir: Path = Field(
        default=Path("var/dev-outbox"),
        description="FLEET_DEV_OUTBOX_DIR: the development SMS and notification providers write here",
    )
    # Limits against abuse (backend/api/guards.py, backend/services/throttle.py).
    max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="FLEET_MAX_BODY_BYTES: larger request bodies are refused with 413 unread",
    )
    source_window_s: int = Field(
        default=900, ge=1, le=24 * 3600, description="FLEET_SOURCE_WINDOW_S: per-client window"
    )
    source_login_failures: int = Field(
        default=10,
        ge=1,
        le=10_000,
        description="FLEET_SOURCE_LOGIN_FAILURES: failed log-ins (passwords, SMS codes) per client address and window, then 429",
    )
    source_sms_codes: int = Field(
        default=10,
        ge=1,
        le=10_000,
        description="FLEET_SOURCE_SMS_CODES: SMS codes one client address may ask for per window, then 429",
    )
    rectification_working_days: int = Field(
        default=5, ge=1, le=15, description="FLEET_RECTIFICATION_WORKING_DAYS: 差评 fix deadline"
    )
    card_issuer_public_key: str | None = Field(
        default=None,
        description="FLEET_CARD_ISSUER_PUBLIC_KEY: the citizen-card issuer's Ed25519 public key "
        "(64 hex digits), to check the card's signed answer in an offline kiosk's application; "
        "unset: the published demo key with FLEET_ENVIRONMENT=development, else none (offline "
        "applications then wait for a reviewer)",
    )
    broker_crl_file: Path | None = Field(
        default=None,
        description="FLEET_BROKER_CRL_FILE: the broker's crlfile (crl.pem in the folder "
        "fleet-broker-config --out wrote), rewritten when a kiosk is retired; the broker "
        "applies it on reload",
    )
    max_clock_skew_s: float = Field(
        default=300,
        ge=5,
        le=86400,
        description="FLEET_MAX_CLOCK_SKEW_S: a kiosk timestamp further ahead of the backend's "
        "clock than this is replaced by the time of receipt (and the kiosk gets a clock alert)",
    )
    require_enrolment: Literal["auto", "true", "false"] = Field(
        default="auto",
        description="FLEET_REQUIRE_ENROLMENT: messages from kiosk ids that are not enrolled "
        "become dead letters and create no kiosk; auto = once any kiosk is enrolled",
    )

    @field_validator("broker_public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        BrokerUrl.parse(value)
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
