"""How a citizen is reached: SMS one-time codes and notifications, each behind a Protocol.

SMS goes to the province's SMS gateway over HTTP (``FLEET_SMS_GATEWAY_URL``:
one JSON POST ``{"phone", "text"}`` per message, the shape most government SMS
platforms' HTTP interfaces take or an adapter in front of them gives). Without
a gateway, the development providers append JSON lines to files in
``FLEET_DEV_OUTBOX_DIR`` (``sms.jsonl``, ``notifications.jsonl``), where the
tests and the demo read the codes; the backend says so loudly in its log, so
that nobody mistakes a file for a sent message.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import httpx

from backend.core.privacy import mask_identity_numbers_in

logger = logging.getLogger(__name__)


class SmsProvider(Protocol):
    def send_code(self, phone: str, code: str, ttl_s: int) -> None: ...

    def send_text(self, phone: str, text: str) -> None:
        """A notice to the citizen (a receipt the kiosk could not print)."""
        ...


class NotificationProvider(Protocol):
    def notify(self, citizen_id: str, title: str, body: str, reference: str | None) -> None: ...


def mask_phone(phone: str) -> str:
    """``13812345678`` -> ``138****5678``."""
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) == 11 else "*" * len(phone)


class _JsonLines:
    _lock = threading.Lock()

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, record: dict[str, Any]) -> None:
        record = {"at": datetime.now(UTC).isoformat(), **record}
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text("utf-8").splitlines() if line]


class DevSmsProvider:
    """Writes each code to ``sms.jsonl`` instead of sending it (development and tests)."""

    def __init__(self, outbox_dir: Path) -> None:
        self.file = _JsonLines(Path(outbox_dir) / "sms.jsonl")

    def send_code(self, phone: str, code: str, ttl_s: int) -> None:
        text = f"【政务服务】您的验证码为{code}，{ttl_s // 60}分钟内有效。请勿泄露给他人。"
        self.file.append({"phone": phone, "code": code, "text": text})
        logger.info("development SMS to %s written to %s", mask_phone(phone), self.file.path)

    def send_text(self, phone: str, text: str) -> None:
        self.file.append({"phone": phone, "text": text})
        logger.info("development SMS notice to %s written to %s", mask_phone(phone), self.file.path)

    def latest_code(self, phone: str) -> str | None:
        codes = [r["code"] for r in self.file.read() if r["phone"] == phone and r.get("code")]
        return codes[-1] if codes else None


class DevNotificationProvider:
    """Writes each notification to ``notifications.jsonl`` (the in-app inbox is the database)."""

    def __init__(self, outbox_dir: Path) -> None:
        self.file = _JsonLines(Path(outbox_dir) / "notifications.jsonl")

    def notify(self, citizen_id: str, title: str, body: str, reference: str | None) -> None:
        self.file.append(
            {
                "citizen_id": citizen_id,
                "title": title,
                "body": mask_identity_numbers_in(body),
                "reference": reference,
            }
        )

    def read(self) -> list[dict[str, Any]]:
        return self.file.read()


class SmsUnavailable(Exception):
    """The SMS gateway did not take the message: nothing was sent."""


class HttpSmsGateway:
    """The SMS gateway: one JSON POST per message; anything but 2xx is :class:`SmsUnavailable`."""

    def __init__(self, url: str, *, timeout_s: float = 5.0, client: httpx.Client | None = None):
        self.url = url
        self.client = client or httpx.Client(timeout=timeout_s)

    def send_code(self, phone: str, code: str, ttl_s: int) -> None:
        self.send_text(
            phone, f"【政务服务】您的验证码为{code}，{ttl_s // 60}分钟内有效。请勿泄露给他人。"
        )

    def send_text(self, phone: str, text: str) -> None:
        try:
            response = self.client.post(self.url, json={"phone": phone, "text": text})
            response.raise_for_status()
        except httpx.HTTPError as err:
            raise SmsUnavailable(f"the SMS gateway did not take the message: {err}") from err
        logger.info("SMS to %s sent through the gateway", mask_phone(phone))


@cache
def _gateway(url: str) -> HttpSmsGateway:
    return HttpSmsGateway(url)  # one connection pool per process


def sms_provider(outbox_dir: Path, gateway_url: str | None = None) -> SmsProvider:
    if gateway_url:
        return _gateway(gateway_url)
    _warn_development_sms(Path(outbox_dir))
    return DevSmsProvider(outbox_dir)


@cache
def _warn_development_sms(outbox_dir: Path) -> None:
    logger.warning(
        "no FLEET_SMS_GATEWAY_URL: SMS are written to %s/sms.jsonl, NOT sent (development only)",
        outbox_dir,
    )


def notification_provider(outbox_dir: Path) -> NotificationProvider:
    return DevNotificationProvider(outbox_dir)
