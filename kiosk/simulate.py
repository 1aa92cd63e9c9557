"""A scripted citizen's visit, played into the kiosk's journal and outbox.

Used by ``make demo`` and for training: it produces exactly the events a real
visit produces (card read, face verified, an application, a receipt, a
rating), with the identity number masked as the contract requires.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from kiosk.journal import Journal
from mqtt.device_health import DeviceHealthStore
from mqtt.outbox import OutboxEvent


@dataclass(frozen=True)
class Visit:
    """Who comes and what they do; the defaults are the demo's citizen."""

    holder_masked: str = "110105********002X"
    item_code: str = "11110000MB0143871X4442111001000"
    item_name: str = "社会保障卡补领"
    rating: int = 5


def receipt_number(kiosk_id: str, now: datetime, sequence: int) -> str:
    """A receipt number made on the kiosk at once, valid offline: kiosk, date, sequence."""
    return f"{kiosk_id.upper()}-{now:%Y%m%d}-{sequence:04d}"


def report_devices_ok(devices: DeviceHealthStore) -> None:
    devices.set("card_reader", "ok", "模拟读卡器")
    devices.set("camera", "ok", "模拟摄像头")
    devices.set("printer", "ok", "模拟打印机", paper="ok")


def play_visit(
    journal: Journal, kiosk_id: str, now: datetime, visit: Visit | None = None
) -> list[OutboxEvent]:
    visit = visit or Visit()
    session = str(uuid.uuid4())
    receipt = receipt_number(kiosk_id, now, 1)
    steps = [
        (
            "session.started",
            {"session_id": session, "card_type": "social_security", "holder": visit.holder_masked},
            "插卡",
        ),
        (
            "card.read",
            {
                "session_id": session,
                "card_type": "social_security",
                "outcome": "ok",
                "holder": visit.holder_masked,
            },
            "读卡成功，卡片真实有效",
        ),
        (
            "face.verified",
            {
                "session_id": session,
                "decision": "match",
                "distance": 0.33,
                "threshold": 0.45,
                "liveness": "passed",
                "attempt": 1,
                "duration_ms": 1240,
            },
            "人脸核验通过",
        ),
        (
            "application.submitted",
            {
                "session_id": session,
                "receipt_no": receipt,
                "item_code": visit.item_code,
                "item_name": visit.item_name,
                "applicant": visit.holder_masked,
                "materials": [
                    {"name": "居民身份证", "source": "card"},
                    {"name": "一寸照片", "source": "e_licence", "licence_no": "ZP-2026-000123"},
                ],
            },
            f"提交申请：{visit.item_name}",
        ),
        (
            "receipt.printed",
            {
                "session_id": session,
                "document": "receipt",
                "reference": receipt,
                "outcome": "printed",
            },
            "打印受理回执",
        ),
        (
            "rating.submitted",
            {
                "session_id": session,
                "level": visit.rating,
                "item_code": visit.item_code,
                "receipt_no": receipt,
            },
            "评价：非常满意",
        ),
        (
            "session.ended",
            {"session_id": session, "reason": "completed", "duration_s": 184.0},
            "退卡，会话结束",
        ),
    ]
    return [journal.record(kind, body, summary) for kind, body, summary in steps]
