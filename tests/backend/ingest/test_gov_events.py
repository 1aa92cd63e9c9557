"""Kiosk applications, ratings and receipts, as MQTT events, through the real ingest pipeline.

An enrolled kiosk reports what happened at it; it acts for a citizen only with
proof that the citizen was there (backend/services/proofs.py). These tests
play an honest kiosk and a kiosk that tries to act for people who never stood
at it.
"""

from __future__ import annotations

import itertools
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from backend.gov.keys import load_sealing_key, sealing_public_key_pem
from backend.gov.providers import DevNotificationProvider, DevSmsProvider
from backend.ingest.gov_events import GovIngest
from backend.ingest.pipeline import Policy, Raw, store_batch
from backend.models import (
    Application,
    CitizenToken,
    DeadLetter,
    Event,
    Licence,
    Notification,
    Rating,
    RectificationTask,
)
from backend.models.base import utcnow
from backend.services.applications import Resolver
from devices.card.demo import DemoCard, make_demo_card
from mqtt.contract import Channel, encode, make_envelope, topic
from mqtt.contract.receipts import receipt_number
from provisioning import offline_proof, sealing
from provisioning.request_signing import KioskAuth
from tests.backend.gov_fixtures import SSC_REISSUE, WANG_XIAOHONG, ZHANG_SAN, Gov, make_gov
from tests.kiosk_identity import CA_PASSPHRASE


@pytest.fixture
def gov(fleet_db_url: str, kiosk_ca: Path, tmp_path: Path):
    g = make_gov(fleet_db_url, kiosk_ca, tmp_path)
    with g.client:
        yield g


@pytest.fixture
def ingest(gov: Gov) -> GovIngest:
    key = load_sealing_key(gov.ca_dir, CA_PASSPHRASE)
    return GovIngest(
        resolver=Resolver(
            keys=gov.keys,
            unseal=lambda token: sealing.unseal(key, token),
            issuer_public_key=offline_proof.demo_issuer_public_key(),
        ),
        notifier=DevNotificationProvider(gov.settings.dev_outbox_dir),
        rectification_days=5,
        sms=DevSmsProvider(gov.settings.dev_outbox_dir),
    )


@dataclass
class Kiosk:
    """An enrolled kiosk that sends events as kiosk-agent does (its own ids and numbers)."""

    gov: Gov
    auth: KioskAuth
    seq: itertools.count = field(default_factory=lambda: itertools.count(1))
    receipts: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def id(self) -> str:
        return self.auth.signer.kiosk_id

    def receipt(self) -> str:
        return receipt_number(self.id, utcnow(), next(self.receipts))

    def vouch(self, person: dict[str, str]) -> str:
        """Card and face at this kiosk: the backend's session reference."""
        return self.gov.open_kiosk_session(self.auth, person)["session_ref"]

    def event(self, kind: str, body: dict[str, Any], *, ts: datetime | None = None) -> Raw:
        env = make_envelope(self.id, kind, body, ts=ts or utcnow(), seq=next(self.seq))
        return Raw(topic(self.id, Channel.EVENTS), encode(env))

    def application(
        self, receipt: str, *, session_id: str | None = None, ts: datetime | None = None, **who: Any
    ) -> Raw:
        body = {
            "session_id": session_id or str(uuid.uuid4()),
            "receipt_no": receipt,
            "item_code": SSC_REISSUE,
            "item_name": "社会保障卡补领",
            "applicant": "110105********002X",
            "materials": [{"name": "居民身份证", "source": "card"}],
            **who,
        }
        return self.event("application.submitted", body, ts=ts)


@pytest.fixture
def kiosk(gov: Gov) -> Kiosk:
    return Kiosk(gov, gov.kiosk("110102"))


@pytest.fixture
def other_kiosk(gov: Gov) -> Kiosk:
    return Kiosk(gov, gov.kiosk("110105"))


def sealed_for(gov: Gov, person: dict[str, str]) -> str:
    public = sealing_public_key_pem(load_sealing_key(gov.ca_dir, CA_PASSPHRASE))
    return sealing.seal(
        public, json.dumps({"id_number": person["id_number"], "name": person["name"]}).encode()
    )


def applications(gov: Gov) -> list[Application]:
    with gov.sessions()() as session:
        return list(session.scalars(select(Application).order_by(Application.receipt_no)))


def dead_letters(gov: Gov) -> list[DeadLetter]:
    with gov.sessions()() as session:
        return list(session.scalars(select(DeadLetter).order_by(DeadLetter.id)))


def licences_of(gov: Gov, citizen_id: str) -> int:
    with gov.sessions()() as session:
        return session.scalar(
            select(func.count()).select_from(Licence).where(Licence.citizen_id == citizen_id)
        )


def test_a_vouched_application_is_made_once_and_instantly_approved(
    gov: Gov, ingest: GovIngest, kiosk: Kiosk
) -> None:
    ref = kiosk.vouch(ZHANG_SAN)
    receipt = kiosk.receipt()
    raw = kiosk.application(receipt, citizen_id=ZHANG_SAN["id"], citizen_session=ref)
    result = store_batch(gov.sessions(), [raw, raw], ingest)
    assert result.stored_events == 1
    again = store_batch(gov.sessions(), [raw], ingest)  # ack lost, sent again
    assert again.duplicate_events == 1 and again.dead_letters == 0
    (app,) = applications(gov)
    assert app.citizen_id == ZHANG_SAN["id"] and app.channel == "kiosk" and app.kiosk_id == kiosk.id
    assert app.state == "delivered"  # 秒批 on his valid RIC e-licence
    # what proved it is kept with the application
    assert app.proof is not None and app.proof["kind"] == "kiosk_session"
    assert app.proof["session_ref"] == ref and app.proof["kiosk_id"] == kiosk.id
    # the citizen sees it on the phone too (数据同源)
    headers = gov.app_login(ZHANG_SAN)
    mine = gov.client.get("/api/v1/citizen/applications", headers=headers).json()["items"]
    assert [a["receipt_no"] for a in mine] == [receipt]


def test_a_kiosk_cannot_apply_for_a_citizen_who_was_not_there(
    gov: Gov, ingest: GovIngest, kiosk: Kiosk, other_kiosk: Kiosk
) -> None:
    """Naming a citizen is not proof: no session, another kiosk's session, a session of
    another citizen, a made-up session, a session long over. None is approved; all wait."""
    licences_before = licences_of(gov, ZHANG_SAN["id"])
    elsewhere = other_kiosk.vouch(ZHANG_SAN)  # Zhang San really is at the other kiosk
    hers = kiosk.vouch(WANG_XIAOHONG)  # and Wang Xiaohong at this one
    past = utcnow() - timedelta(hours=2)
    attempts = {
        "no session": {},
        "another kiosk's session": {"citizen_session": elsewhere},
        "another citizen's session": {"citizen_session": hers},
        "made-up session": {"citizen_session": str(uuid.uuid4())},
    }
    batch = [
        kiosk.application(kiosk.receipt(), citizen_id=ZHANG_SAN["id"], **extra)
        for extra in attempts.values()
    ]
    batch.append(
        kiosk.application(
            kiosk.receipt(), citizen_id=WANG_XIAOHONG["id"], citizen_session=hers, ts=past
        )
    )
    result = store_batch(gov.sessions(), batch, ingest)
    assert result.stored_events == 5 and result.dead_letters == 0  # kept, never dropped
    apps = applications(gov)
    assert [a.state for a in apps] == ["unmatched"] * 5
    assert all(a.citizen_id is None for a in apps)  # nobody's until a reviewer says so
    assert [a.unmatched_reason for a in apps] == [
        "事件未携带后端签发的终端会话，无法证明申请人在该终端",
        "事件引用的会话不是后端签发给该终端的",
        "事件中的公民与该会话核验的公民不一致",
        "事件引用的终端会话不存在或已过保存期",
        "事件时间不在该会话的有效期内",
    ]
    assert apps[0].proof == {"kind": "unproven", "claimed_citizen_id": ZHANG_SAN["id"]}
    assert licences_of(gov, ZHANG_SAN["id"]) == licences_before  # no 秒批, no licence
    # the citizen was told nothing and sees nothing
    headers = gov.app_login(ZHANG_SAN)
    assert gov.client.get("/api/v1/citizen/applications", headers=headers).json()["items"] == []
    # a reviewer sees them all, and can match one to the person who came to the window
    reviewer = gov.reviewer()
    unmatched = gov.client.get(
        "/api/v1/review/applications", params={"state": "unmatched"}, headers=reviewer
    ).json()["items"]
    assert len(unmatched) == 5
    matched = gov.client.post(
        f"/api/v1/review/applications/{apps[0].receipt_no}/match",
        json={"id_number": ZHANG_SAN["id_number"], "name": ZHANG_SAN["name"], "reason": "窗口核验"},
        headers=reviewer,
    )
    assert matched.status_code == 200, matched.text
    assert matched.json()["state"] == "submitted"
    with gov.sessions()() as session:
        proof = session.get(Application, apps[0].id).proof
    assert proof["kind"] == "reviewer" and proof["reason"] == "窗口核验"


def test_a_kiosk_cannot_use_another_kiosks_receipt_numbers(
    gov: Gov, ingest: GovIngest, kiosk: Kiosk, other_kiosk: Kiosk
) -> None:
    """Kiosk A publishing B's next number must not make B's genuine application vanish."""
    stolen = other_kiosk.receipt()
    mine = kiosk.vouch(ZHANG_SAN)
    attack = kiosk.application(stolen, citizen_id=ZHANG_SAN["id"], citizen_session=mine)
    result = store_batch(gov.sessions(), [attack], ingest)
    assert result.stored_events == 1 and applications(gov) == []
    (letter,) = dead_letters(gov)
    assert letter.reason_code == "foreign_receipt" and stolen in letter.reason
    # B's genuine application with that number is accepted afterwards
    ref = other_kiosk.vouch(WANG_XIAOHONG)
    genuine = other_kiosk.application(stolen, citizen_id=WANG_XIAOHONG["id"], citizen_session=ref)
    store_batch(gov.sessions(), [genuine], ingest)
    (app,) = applications(gov)
    assert app.receipt_no == stolen and app.kiosk_id == other_kiosk.id
    assert app.citizen_id == WANG_XIAOHONG["id"]


def test_a_receipt_number_used_again_with_other_content_is_a_conflict(
    gov: Gov, ingest: GovIngest, kiosk: Kiosk
) -> None:
    ref = kiosk.vouch(ZHANG_SAN)
    receipt = kiosk.receipt()
    first = kiosk.application(receipt, citizen_id=ZHANG_SAN["id"], citizen_session=ref)
    second = kiosk.application(receipt, citizen_id=ZHANG_SAN["id"], citizen_session=ref)
    store_batch(gov.sessions(), [first], ingest)
    store_batch(gov.sessions(), [second], ingest)
    (app,) = applications(gov)
    assert app.event_id == json.loads(first.payload)["id"]
    (letter,) = dead_letters(gov)
    assert letter.reason_code == "conflict" and receipt in letter.reason
    assert json.loads(second.payload)["id"] in letter.payload.decode()


def test_an_offline_application_without_the_cards_proof_waits_for_a_reviewer(
    gov: Gov, ingest: GovIngest, kiosk: Kiosk
) -> None:
    raw = kiosk.application(kiosk.receipt(), applicant_sealed=sealed_for(gov, ZHANG_SAN))
    store_batch(gov.sessions(), [raw], ingest)
    (app,) = applications(gov)
    assert app.state == "unmatched" and app.citizen_id is None
    assert "签名应答" in (app.unmatched_reason or "")
    assert ZHANG_SAN["id_number"].encode() not in raw.payload  # never in clear on the wire


def offline_application(
    gov: Gov,
    kiosk: Kiosk,
    receipt: str,
    *,
    signer_kiosk: Kiosk | None = None,
    **proof_overrides: Any,
) -> Raw:
    """What an offline kiosk sends: the sealed applicant and the card's answer to the
    application's own challenge, with the face decision, signed by the kiosk."""
    from devices.card.application import prove
    from tests.devices.card.test_application import AppletTransport

    sealed = sealed_for(gov, ZHANG_SAN)
    signer = (signer_kiosk or kiosk).auth.signer
    challenge = offline_proof.challenge_for(signer.kiosk_id, receipt, SSC_REISSUE, sealed)
    card = make_demo_card(DemoCard.GENUINE)
    wire = offline_proof.build(
        signer,
        kiosk_id=signer.kiosk_id,
        receipt_no=receipt,
        item_code=SSC_REISSUE,
        applicant_sealed=sealed,
        card_proof=prove(AppletTransport(card), offline_proof.demo_issuer_public_key(), challenge),
        face_decision=proof_overrides.pop("decision", "match"),
        liveness=proof_overrides.pop("liveness", "passed"),
        at=utcnow(),
    )
    return kiosk.application(receipt, applicant_sealed=sealed, offline_proof=wire)


def test_an_offline_application_with_the_cards_signed_answer_is_accepted(
    gov: Gov, ingest: GovIngest, kiosk: Kiosk
) -> None:
    raw = offline_application(gov, kiosk, kiosk.receipt())
    store_batch(gov.sessions(), [raw], ingest)
    (app,) = applications(gov)
    assert app.citizen_id == ZHANG_SAN["id"] and app.state == "delivered", app.unmatched_reason
    assert app.proof["kind"] == "offline_card" and app.proof["face"]["decision"] == "match"
    assert ZHANG_SAN["id_number"].encode() not in raw.payload


def test_an_offline_proof_cannot_be_moved_or_made_up(
    gov: Gov, ingest: GovIngest, kiosk: Kiosk, other_kiosk: Kiosk
) -> None:
    genuine = json.loads(offline_application(gov, kiosk, kiosk.receipt()).payload)["body"]
    moved = dict(genuine, receipt_no=kiosk.receipt())  # the proof of one, sent for another
    other = json.loads(
        offline_application(gov, kiosk, kiosk.receipt(), signer_kiosk=other_kiosk).payload
    )["body"]  # signed by another kiosk
    no_face = json.loads(
        offline_application(gov, kiosk, kiosk.receipt(), decision="no_match").payload
    )["body"]
    batch = [kiosk.event("application.submitted", body) for body in (moved, other, no_face)]
    result = store_batch(gov.sessions(), batch, ingest)
    assert result.stored_events == 3
    apps = applications(gov)
    assert [a.state for a in apps] == ["unmatched"] * 3 and all(a.citizen_id is None for a in apps)
    reasons = sorted(a.unmatched_reason or "" for a in apps)
    assert any("kiosk_signature" in r for r in reasons), reasons
    assert any("face_not_matched" in r for r in reasons), reasons


def test_an_unresolvable_sealed_applicant_is_kept_unmatched_not_dropped(
    gov: Gov, ingest: GovIngest, kiosk: Kiosk
) -> None:
    stranger = {"id_number": "110101199003070011", "name": "路人甲"}
    batch = [
        kiosk.application(kiosk.receipt(), applicant_sealed=sealed_for(gov, stranger)),
        kiosk.application(kiosk.receipt(), applicant_sealed="x" * 40),
    ]
    result = store_batch(gov.sessions(), batch, ingest)
    assert result.stored_events == 2 and result.dead_letters == 0
    apps = applications(gov)
    assert [a.state for a in apps] == ["unmatched"] * 2
    assert [a.unmatched_reason for a in apps] == ["申请人不在人口库中", "申请人密封信息无法解开"]


def test_an_event_without_any_applicant_is_a_dead_letter(
    gov: Gov, ingest: GovIngest, kiosk: Kiosk
) -> None:
    raw = kiosk.application(kiosk.receipt(), citizen_id=ZHANG_SAN["id"])
    envelope = json.loads(raw.payload)
    del envelope["body"]["citizen_id"]
    result = store_batch(gov.sessions(), [Raw(raw.topic, json.dumps(envelope).encode())], ingest)
    assert result.dead_letters == 1
    (letter,) = dead_letters(gov)
    assert "citizen_id or applicant_sealed" in letter.reason
    assert applications(gov) == []


def rating(kiosk: Kiosk, receipt: str, session_id: str, **extra: Any) -> Raw:
    body = {"session_id": session_id, "level": 1, "receipt_no": receipt, "comment": "太慢", **extra}
    return kiosk.event("rating.submitted", body)


def test_kiosk_ratings_are_stored_once_and_bad_ones_open_a_task(
    gov: Gov, ingest: GovIngest, kiosk: Kiosk
) -> None:
    visit = str(uuid.uuid4())
    ref = kiosk.vouch(ZHANG_SAN)
    receipt = kiosk.receipt()
    store_batch(
        gov.sessions(),
        [
            kiosk.application(
                receipt, session_id=visit, citizen_id=ZHANG_SAN["id"], citizen_session=ref
            )
        ],
        ingest,
    )
    raw = rating(kiosk, receipt, visit)
    store_batch(gov.sessions(), [raw], ingest)
    store_batch(gov.sessions(), [raw], ingest)
    with gov.sessions()() as session:
        (stored,) = session.scalars(select(Rating)).all()
        assert stored.kiosk_id == kiosk.id and stored.level == 1
        assert stored.citizen_id == ZHANG_SAN["id"] and stored.department_code == "rsj"
        assert session.scalar(select(func.count()).select_from(RectificationTask)) == 1
        assert session.scalar(select(func.count()).select_from(Event)) == 2


def test_a_kiosk_rates_only_its_own_visits(
    gov: Gov, ingest: GovIngest, kiosk: Kiosk, other_kiosk: Kiosk
) -> None:
    """A bad rating pinned on someone else's application would open a rectification task in
    their name: refused, visibly. The citizen's own session at another kiosk may rate it."""
    ref = kiosk.vouch(ZHANG_SAN)
    receipt = kiosk.receipt()
    store_batch(
        gov.sessions(),
        [kiosk.application(receipt, citizen_id=ZHANG_SAN["id"], citizen_session=ref)],
        ingest,
    )
    foreign = rating(other_kiosk, receipt, str(uuid.uuid4()))
    wrong_visit = rating(kiosk, receipt, str(uuid.uuid4()))
    result = store_batch(gov.sessions(), [foreign, wrong_visit], ingest)
    assert result.stored_events == 2
    letters = dead_letters(gov)
    assert [d.reason_code for d in letters] == ["foreign_reference", "foreign_reference"]
    with gov.sessions()() as session:
        assert session.scalar(select(func.count()).select_from(Rating)) == 0
        assert session.scalar(select(func.count()).select_from(RectificationTask)) == 0
    # Zhang San, vouched at the other kiosk, looks the application up there and rates it
    there = other_kiosk.vouch(ZHANG_SAN)
    store_batch(
        gov.sessions(),
        [rating(other_kiosk, receipt, str(uuid.uuid4()), citizen_session=there)],
        ingest,
    )
    with gov.sessions()() as session:
        (stored,) = session.scalars(select(Rating)).all()
        assert stored.citizen_id == ZHANG_SAN["id"] and stored.kiosk_id == other_kiosk.id


def receipt_event(kiosk: Kiosk, receipt: str, outcome: str, session_id: str | None = None) -> Raw:
    body = {"document": "receipt", "reference": receipt, "outcome": outcome}
    if session_id:
        body["session_id"] = session_id
    return kiosk.event("receipt.printed", body)


def test_a_receipt_the_printer_could_not_print_reaches_the_citizen_once(
    gov: Gov, ingest: GovIngest, kiosk: Kiosk
) -> None:
    visit = str(uuid.uuid4())
    ref = kiosk.vouch(ZHANG_SAN)
    receipt = kiosk.receipt()
    paper_out = receipt_event(kiosk, receipt, "out_of_paper", visit)
    application = kiosk.application(
        receipt, session_id=visit, citizen_id=ZHANG_SAN["id"], citizen_session=ref
    )
    store_batch(gov.sessions(), [application, paper_out], ingest)
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


def test_only_the_kiosk_that_took_the_application_can_have_its_receipt_sent(
    gov: Gov, ingest: GovIngest, kiosk: Kiosk, other_kiosk: Kiosk
) -> None:
    visit = str(uuid.uuid4())
    ref = kiosk.vouch(ZHANG_SAN)
    receipt = kiosk.receipt()
    store_batch(
        gov.sessions(),
        [
            kiosk.application(
                receipt, session_id=visit, citizen_id=ZHANG_SAN["id"], citizen_session=ref
            )
        ],
        ingest,
    )
    attacks = [
        receipt_event(other_kiosk, receipt, "out_of_paper"),  # another kiosk
        receipt_event(kiosk, receipt, "out_of_paper", str(uuid.uuid4())),  # another visit
    ]
    store_batch(gov.sessions(), attacks, ingest)
    sms = DevSmsProvider(gov.settings.dev_outbox_dir).file.read()
    assert not any(receipt in r.get("text", "") for r in sms)
    assert [d.reason_code for d in dead_letters(gov)] == ["foreign_reference"] * 2


def test_a_printed_receipt_sends_nothing(gov: Gov, ingest: GovIngest, kiosk: Kiosk) -> None:
    ref = kiosk.vouch(ZHANG_SAN)
    receipt = kiosk.receipt()
    store_batch(
        gov.sessions(),
        [
            kiosk.application(receipt, citizen_id=ZHANG_SAN["id"], citizen_session=ref),
            receipt_event(kiosk, receipt, "printed"),
        ],
        ingest,
    )
    sms = DevSmsProvider(gov.settings.dev_outbox_dir).file.read()
    assert not any(receipt in r.get("text", "") for r in sms)


def test_a_rating_no_citizen_is_proven_to_have_given_opens_no_task(
    gov: Gov, ingest: GovIngest, kiosk: Kiosk
) -> None:
    """差评 with no application of the visit and no session: kept and counted, but a
    department's rectification work is not created on a kiosk's word alone."""
    anonymous = kiosk.event(
        "rating.submitted", {"session_id": str(uuid.uuid4()), "level": 1, "item_code": SSC_REISSUE}
    )
    ref = kiosk.vouch(ZHANG_SAN)  # the citizen at the kiosk rates without an application
    vouched = kiosk.event(
        "rating.submitted",
        {
            "session_id": str(uuid.uuid4()),
            "level": 2,
            "item_code": SSC_REISSUE,
            "citizen_session": ref,
        },
    )
    store_batch(gov.sessions(), [anonymous, vouched], ingest)
    with gov.sessions()() as session:
        stored = session.scalars(select(Rating).order_by(Rating.id)).all()
        assert [r.proof["kind"] for r in stored] == ["unproven", "kiosk_session"]
        assert [r.citizen_id for r in stored] == [None, ZHANG_SAN["id"]]
        tasks = session.scalars(select(RectificationTask)).all()
        assert [t.rating_id for t in tasks] == [stored[1].id]


def test_retiring_a_kiosk_ends_the_sessions_it_holds(
    gov: Gov, ingest: GovIngest, kiosk: Kiosk
) -> None:
    ref = kiosk.vouch(ZHANG_SAN)
    admin = gov.reviewer("admin")
    retired = gov.client.post(f"/api/v1/ops/kiosks/{kiosk.id}/retire", headers=admin)
    assert retired.status_code == 200, retired.text
    raw = kiosk.application(kiosk.receipt(), citizen_id=ZHANG_SAN["id"], citizen_session=ref)
    # a retired kiosk still connected to the broker: its messages are refused at the door
    result = store_batch(gov.sessions(), [raw], ingest)
    assert result.stored_events == 0 and [d.reason_code for d in dead_letters(gov)] == ["retired"]
    # and where enrolment is not enforced, its session vouches for no one
    store_batch(gov.sessions(), [raw], ingest, Policy(require_enrolment="false"))
    (app,) = applications(gov)
    assert app.state == "unmatched"
    assert app.unmatched_reason == "发送终端已退役，其会话不再为任何人作证"
    with gov.sessions()() as session:
        token = session.scalar(select(CitizenToken).where(CitizenToken.ref == ref))
        assert token is not None and token.revoked_at is not None
