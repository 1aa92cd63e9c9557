"""A scripted citizen's visit, played through the simulated devices into the journal and outbox.

Used by ``make demo`` and for training. The devices are the real simulators
(``devices.card.sim``, ``devices.printer.SimulatedPrinter``): the card is
really read and authenticated, the receipt really rendered to ESC/POS, and
their health comes from their probes. Only the face step is scripted (a
camera needs a person); its event has the shape a real verification gives.
The identity number leaves the card reader masked, as the contract requires.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from devices.card.demo import DemoCard
from devices.card.sim import SimCardReader
from devices.printer import SimulatedPrinter, application_receipt
from kiosk.health_reporter import HealthReporter
from kiosk.journal import Journal
from mqtt.contract.receipts import receipt_number
from mqtt.device_health import DeviceHealthStore
from mqtt.outbox import OutboxEvent


@dataclass(frozen=True)
class Visit:
    """What the citizen does; the defaults are the demo's."""

    item_code: str = "11110102000000100E2002001000"  # data/catalog/items.json
    item_name: str = "社会保障卡补领"
    rating: int = 5
    # The demo card's holder (张三) in data/citizens/citizens.json: the visit plays a kiosk
    # that had an online, vouched session (application.submitted carries citizen_id).
    citizen_id: str = "7b0c0a46-0b8f-4d3e-9d1e-1c2f3a4b5c01"
    # The backend's session at this kiosk that vouched for the citizen (its session_ref):
    # without it the backend keeps the application for a reviewer (unmatched).
    citizen_session: str | None = None
    # The receipt's QR: this prefix and the receipt number (the mini-app's progress page).
    receipt_url: str = "https://zwfw.example.gov.cn/app/#/applications/"


@dataclass
class SimulatedKiosk:
    reader: SimCardReader
    printer: SimulatedPrinter
    health: HealthReporter

    @classmethod
    def open(cls, store: DeviceHealthStore, journal: Journal) -> SimulatedKiosk:
        reader, printer = SimCardReader(), SimulatedPrinter()
        reader.start()
        health = HealthReporter({"card_reader": reader, "printer": printer}, store, journal)
        return cls(reader=reader, printer=printer, health=health)

    def close(self) -> None:
        self.reader.stop()


def play_visit(
    kiosk: SimulatedKiosk,
    journal: Journal,
    kiosk_id: str,
    now: datetime,
    visit: Visit | None = None,
) -> list[OutboxEvent]:
    visit = visit or Visit()
    kiosk.health.poll_once()
    session = str(uuid.uuid4())
    receipt = receipt_number(kiosk_id, now, 1)
    events = []

    def record(kind: str, body: dict, summary: str) -> None:
        events.append(journal.record(kind, {"session_id": session, **body}, summary))

    kiosk.reader.insert_card(DemoCard.GENUINE)
    identity = kiosk.reader.read_identity()  # authenticated, checksum and dates checked
    holder = identity.masked_id_number
    card = {"card_type": "social_security", "holder": holder}
    record("session.started", card, "插卡")
    record("card.read", {**card, "outcome": "ok"}, "读卡成功，卡片真实有效")
    record(
        "face.verified",
        {
            "decision": "match",
            "distance": 0.35,
            "threshold": 0.40,
            "liveness": "passed",
            "attempt": 1,
            "duration_ms": 980,
        },
        "人脸核验通过",
    )
    record(
        "application.submitted",
        {
            "receipt_no": receipt,
            "item_code": visit.item_code,
            "item_name": visit.item_name,
            "applicant": holder,
            "citizen_id": visit.citizen_id,
            **({"citizen_session": visit.citizen_session} if visit.citizen_session else {}),
            "materials": [{"name": "居民身份证", "source": "card"}],
        },
        f"提交申请：{visit.item_name}",
    )
    kiosk.printer.print_document(
        application_receipt(
            receipt_no=receipt,
            service=visit.item_name,
            applicant=identity.name,
            submitted_at=now,
            verify_url=visit.receipt_url + receipt,
        )
    )
    record(
        "receipt.printed",
        {"document": "receipt", "reference": receipt, "outcome": "printed"},
        "打印受理回执",
    )
    record(
        "rating.submitted",
        {
            "level": visit.rating,
            "item_code": visit.item_code,
            "receipt_no": receipt,
            **({"citizen_session": visit.citizen_session} if visit.citizen_session else {}),
        },
        "评价：非常满意",
    )
    kiosk.reader.remove_card()
    record("session.ended", {"reason": "completed", "duration_s": 184.0}, "退卡，会话结束")
    kiosk.health.poll_once()
    return events
