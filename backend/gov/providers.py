"""How a citizen is reached and recognised: SMS, notifications and face checks, each behind a Protocol.

SMS goes to the province's SMS gateway over HTTP (``FLEET_SMS_GATEWAY_URL``:
one JSON POST ``{"phone", "text"}`` per message, the shape most government SMS
platforms' HTTP interfaces take or an adapter in front of them gives). Without
a gateway, the development providers append JSON lines to files in
``FLEET_DEV_OUTBOX_DIR`` (``sms.jsonl``, ``notifications.jsonl``), where the
tests and the demo read the codes; the backend says so loudly in its log, so
that nobody mistakes a file for a sent message.

A face check (实人认证) compares a live face with the registry photo through a
vendor (the public-security CTID platform or a mini-app platform's 人脸核身):
the backend opens a session for one registry entry, the phone's SDK runs the
liveness check with it, and the backend asks the vendor for the outcome. The
sandbox (``FLEET_FACE_CHECK=sandbox``) does the same with HMAC-signed tokens it
issues itself, so its verdict is a real check of who stood before the camera.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass
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


@dataclass(frozen=True)
class FaceSubject:
    """The registry entry a face is checked against (the vendor holds or fetches its photo)."""

    citizen_id: str
    name: str


@dataclass(frozen=True)
class FaceSession:
    """A vendor's face-check session: the phone's SDK runs liveness with ``token``."""

    token: str
    expires_at: datetime


@dataclass(frozen=True)
class FaceOutcome:
    """The vendor's verdict; a face that does not match is a result, not an exception."""

    matched: bool
    reason: str  # match | no_match | expired | invalid | other_session


class FaceCheckProvider(Protocol):
    def begin(self, subject: FaceSubject, ttl_s: int) -> FaceSession:
        """Open a session for ``subject``; its token goes to the phone's SDK."""
        ...

    def outcome(self, session_token: str, result: str, subject: FaceSubject) -> FaceOutcome:
        """Whether ``result`` (from the SDK) proves ``subject``'s live face in this session."""
        ...


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

    def texts(self, phone: str) -> list[str]:
        return [r["text"] for r in self.file.read() if r["phone"] == phone]

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


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class SandboxFaceCheck:
    """A face-check vendor in a box, for tests and the demo; never an always-yes.

    ``begin`` issues ``fs.<nonce>.<expiry>.<mac>``, the MAC binding the nonce and expiry
    to the subject's citizen id. ``capture`` plays the vendor's SDK: it is called with
    the citizen whose live face stood before the camera (a test, the demo) and returns
    ``fr.<nonce>.<mac>``, signed over that session and that face. ``outcome`` matches
    only a result this sandbox signed, for this session, showing the subject's face,
    before the session expired. No HTTP route reaches ``capture``.
    """

    def __init__(self, secret: bytes) -> None:
        self._key = hmac.new(secret, b"face-check-sandbox-v1", hashlib.sha256).digest()

    def _mac(self, *parts: str) -> str:
        return _b64(hmac.new(self._key, "|".join(parts).encode(), hashlib.sha256).digest()[:20])

    def begin(self, subject: FaceSubject, ttl_s: int) -> FaceSession:
        nonce, expiry = _b64(secrets.token_bytes(16)), int(time.time()) + ttl_s
        mac = self._mac("session", nonce, str(expiry), subject.citizen_id)
        return FaceSession(f"fs.{nonce}.{expiry}.{mac}", datetime.fromtimestamp(expiry, UTC))

    def capture(self, session_token: str, face_of: str) -> str:
        """The SDK's result after a live capture of ``face_of``'s face (a citizen id)."""
        nonce = session_token.split(".")[1] if session_token.count(".") == 3 else ""
        return f"fr.{nonce}.{self._mac('result', nonce, face_of)}"

    def outcome(self, session_token: str, result: str, subject: FaceSubject) -> FaceOutcome:
        parts = session_token.split(".")
        if len(parts) != 4 or parts[0] != "fs" or not parts[2].isdigit():
            return FaceOutcome(False, "invalid")
        _, nonce, expiry, mac = parts
        if not hmac.compare_digest(mac, self._mac("session", nonce, expiry, subject.citizen_id)):
            return FaceOutcome(False, "invalid")  # not a session this sandbox opened for them
        if int(expiry) <= time.time():
            return FaceOutcome(False, "expired")
        got = result.split(".")
        if len(got) != 3 or got[0] != "fr" or got[1] != nonce:
            return FaceOutcome(False, "other_session")
        if not hmac.compare_digest(got[2], self._mac("result", nonce, subject.citizen_id)):
            return FaceOutcome(False, "no_match")
        return FaceOutcome(True, "match")


def face_check_provider(kind: str, secret: bytes) -> FaceCheckProvider | None:
    """The configured face-check vendor (``FLEET_FACE_CHECK``), or None when it is off."""
    if kind == "sandbox":
        return SandboxFaceCheck(secret)
    return None
