"""Kiosk applications and ratings, as MQTT events, through the real ingest pipeline."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from backend.gov.keys import load_sealing_key, sealing_public_key_pem
from backend.gov.providers import DevNotificationProvider, DevSmsProvider
from backend.ingest.gov_events import GovIngest
from backend.ingest.pipeline import Raw, store_batch
from backend.models import (
    Application,
    DeadLetter,
    Event,
    Notification,
    Rating,
    RectificationTask,
)
from backend.services.applications import Resolver
from mqtt.contract import Channel, encode, make_envelope, topic
from provisioning import sealing
from tests.backend.gov_fixtures import SSC_REISSUE, ZHANG_SAN, Gov, make_gov
from tests.kiosk_identity import CA_PASSPHRASE

KIOSK = "k110102-0001"
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def gov(fleet_db_url: str, kiosk_ca: Path, tmp_path: Path):
    g = make_gov(fleet_db_url, kiosk_ca, tmp_path)
    with g.client:
        yield g


@pytest.fixture
def ingest(gov: Gov) -> GovIngest:
    key = load_sealing_key(gov.ca_dir, CA_PASSPHRASE)
    return GovIngest(
        resolver=Resolver(keys=gov.keys, unseal=lambda token: sealing.unseal(key, token)),
        notifier=DevNotificationProvider(gov.settings.dev_outbox_dir),
        rectification_days=5,
        sms=DevSmsProvider(gov.settings.dev_outbox_dir),
    )


def application_event(receipt: str, **applicant: object) -> Raw:
    body = {
        "session_id": str(uuid.uuid4()),
        "receipt_no": receipt,
        "item_code": SSC_REISSUE,
        "item_name": "社会保障卡补领",
        "applicant": "110105********002X",
        "materials": [{"name": "居民身份证", "source": "card"}],
        **applicant,
    }
    env = make_envelope(KIOSK, "application.submitted", body, ts=T0, seq=1)
    return Raw(topic(KIOSK, Channel.EVENTS), encode(env))


def sealed_for(gov: Gov, person: dict[str, str]) -> str:
    public = sealing_public_key_pem(load_sealing_key(gov.ca_dir, CA_PASSPHRASE))
    return sealing.seal(
        public, json.dumps({"id_number": person["id_number"], "name": person["name"]}).encode()
    )


def applications(gov: Gov) -> list[Application]:
    with gov.sessions()() as session:
        return list(session.scalars(select(Application).order_by(Application.receipt_no)))


def test_a_vouched_application_is_made_once_and_instantly_approved(
    gov: Gov, ingest: GovIngest
) -> None:
    raw = application_event("K0001-20261123-0001", citizen_id=ZHANG_SAN["id"])
    result = store_batch(gov.sessions(), [raw, raw], ingest)
    assert result.stored_events == 1
    again = store_batch(gov.sessions(), [raw], ingest)  # ack lost, sent again
    assert again.duplicate_events == 1
    (app,) = applications(gov)
    assert app.citizen_id == ZHANG_SAN["id"] and app.channel == "kiosk" and app.kiosk_id == KIOSK
    assert app.state == "delivered"  # 秒批 on his valid RIC e-licence
    # the citizen sees it on the phone too (数据同源)
    headers = gov.app_login(ZHANG_SAN)
    mine = gov.client.get("/api/v1/citizen/applications", headers=headers).json()["items"]
    assert [a["receipt_no"] for a in mine] == ["K0001-20261123-0001"]


def test_an_offline_kiosk_seals_the_applicant(gov: Gov, ingest: GovIngest) -> None:
    raw = application_event("K0001-20261123-0002", applicant_sealed=sealed_for(gov, ZHANG_SAN))
    store_batch(gov.sessions(), [raw], ingest)
    (app,) = applications(gov)
    assert app.citizen_id == ZHANG_SAN["id"] and app.state == "delivered"
    assert ZHANG_SAN["id_number"].encode() not in raw.payload  # never in clear on the wire


def test_an_unresolvable_applicant_is_kept_unmatched_not_dropped(
    gov: Gov, ingest: GovIngest
) -> None:
    stranger = {"id_number": "110101199003070011", "name": "路人甲"}
    batch = [
        application_event("K-1", applicant_sealed=sealed_for(gov, stranger)),
        application_event("K-2", applicant_sealed="x" * 40),
        application_event("K-3", citizen_id=str(uuid.uuid4())),
    ]
    result = store_batch(gov.sessions(), batch, ingest)
    assert result.stored_events == 3 and result.dead_letters == 0
    apps = applications(gov)
    assert [a.state for a in apps] == ["unmatched"] * 3
    assert [a.unmatched_reason for a in apps] == [
        "申请人不在人口库中",
        "申请人密封信息无法解开",
        "会话中的公民编号在人口库中不存在",
    ]
    # a reviewer matches one to the person who came to the window
    reviewer = gov.reviewer()
    unmatched = gov.client.get(
        "/api/v1/review/applications", params={"state": "unmatched"}, headers=reviewer
    ).json()["items"]
    assert len(unmatched) == 3
    matched = gov.client.post(
        "/api/v1/review/applications/K-3/match",
        json={"id_number": ZHANG_SAN["id_number"], "name": ZHANG_SAN["name"], "reason": "窗口核验"},
        headers=reviewer,
    )
    assert matched.status_code == 200, matched.text
    assert matched.json()["state"] == "submitted"


def test_an_event_without_any_applicant_is_a_dead_letter(gov: Gov, ingest: GovIngest) -> None:
    raw = application_event("K-9", citizen_id=ZHANG_SAN["id"])
    envelope = json.loads(raw.payload)
    del envelope["body"]["citizen_id"]
    result = store_batch(gov.sessions(), [Raw(raw.topic, json.dumps(envelope).encode())], ingest)
    assert result.dead_letters == 1
    with gov.sessions()() as session:
        letter = session.scalar(select(DeadLetter))
        assert letter is not None and "citizen_id or applicant_sealed" in letter.reason
    assert applications(gov) == []


def test_kiosk_ratings_are_stored_once_and_bad_ones_open_a_task(
    gov: Gov, ingest: GovIngest
) -> None:
    store_batch(gov.sessions(), [application_event("K-R1", citizen_id=ZHANG_SAN["id"])], ingest)
    body = {"session_id": str(uuid.uuid4()), "level": 1, "receipt_no": "K-R1", "comment": "太慢"}
    env = make_envelope(KIOSK, "rating.submitted", body, ts=T0, seq=2)
    raw = Raw(topic(KIOSK, Channel.EVENTS), encode(env))
    store_batch(gov.sessions(), [raw], ingest)
    store_batch(gov.sessions(), [raw], ingest)
    with gov.sessions()() as session:
        (rating,) = session.scalars(select(Rating)).all()
        assert rating.kiosk_id == KIOSK and rating.level == 1
        assert rating.citizen_id == ZHANG_SAN["id"] and rating.department_code == "rsj"
        assert session.scalar(select(func.count()).select_from(RectificationTask)) == 1
        assert session.scalar(select(func.count()).select_from(Event)) == 2


def receipt_event(receipt: str, outcome: str) -> Raw:
    body = {"document": "receipt", "reference": receipt, "outcome": outcome}
    env = make_envelope(KIOSK, "receipt.printed", body, ts=T0, seq=2)
    return Raw(topic(KIOSK, Channel.EVENTS), encode(env))


def test_a_receipt_the_printer_could_not_print_reaches_the_citizen_once(
    gov: Gov, ingest: GovIngest
) -> None:
    receipt = "K0001-20261123-0007"
    paper_out = receipt_event(receipt, "out_of_paper")
    store_batch(
        gov.sessions(), [application_event(receipt, citizen_id=ZHANG_SAN["id"]), paper_out], ingest
    )
    store_batch(gov.sessions(), [paper_out], ingest)  # ack lost, sent again: no second SMS
    sms = [r for r in DevSmsProvider(gov.settings.dev_outbox_dir).file.read() if "text" in r]
    notices = [r for r in sms if receipt in r["text"]]
    assert len(notices) == 1
    assert notices[0]["phone"] == ZHANG_SAN["phone"] and "缺纸" in notices[0]["text"]
    with gov.sessions()() as session:
        inbox = session.scalars(
            select(Notification).where(Notification.kind == "receipt_unprinted")
        ).all()
    assert [(n.citizen_id, n.reference) for n in inbox] == [(ZHANG_SAN["id"], receipt)]


def test_a_printed_receipt_sends_nothing(gov: Gov, ingest: GovIngest) -> None:
    receipt = "K0001-20261123-0008"
    store_batch(
        gov.sessions(),
        [application_event(receipt, citizen_id=ZHANG_SAN["id"]), receipt_event(receipt, "printed")],
        ingest,
    )
    sms = DevSmsProvider(gov.settings.dev_outbox_dir).file.read()
    assert not any(receipt in r.get("text", "") for r in sms)
