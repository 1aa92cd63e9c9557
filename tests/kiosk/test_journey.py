"""The journey as plain Python: no window, the real card simulator, a fake backend."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from cryptography import x509

from devices.card.auth import IssuerPublicKey
from devices.card.demo import make_demo_card
from devices.card.private_pcscd import PcscdDaemon
from devices.card.sim import SimCardReader
from devices.card.virtual_card import VirtualCard
from devices.health import DeviceHealth
from kiosk.catalog_cache import DEMO_SNAPSHOT, CatalogCache
from kiosk.journal import Journal
from kiosk.journey import Journey, Screen
from kiosk.receipts import ReceiptNumbers
from mqtt.contract.messages import ApplicationSubmitted
from mqtt.outbox import Outbox, open_kiosk_db
from provisioning import offline_proof, sealing
from provisioning.ca import FleetCA, make_csr, new_key
from provisioning.request_signing import KioskSigner
from tests.kiosk.fakes import CITIZEN_ID, FakeBackend

ITEM = "11110102000000000Q2001001000"  # 居民身份证换领, needs 居民户口簿 (HKB)
MATCH = {"decision": "match", "distance": 0.1, "liveness": "passed"}
NO_MATCH = {"decision": "no_match", "distance": 0.8, "liveness": "passed"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def reader() -> Iterator[SimCardReader]:
    reader = SimCardReader()
    reader.insert_card("genuine")
    yield reader


@pytest.fixture
def sealing_key():  # type: ignore[no-untyped-def]
    return sealing.generate_key()


@pytest.fixture
def kiosk_signer(tmp_path: Path) -> KioskSigner:
    """The key and certificate ``kioskctl enrol`` would have written for test-kiosk-01."""
    ca = FleetCA.create(tmp_path / "ca", "a-test-passphrase-long-enough")
    key = new_key()
    signed = ca.sign_csr(make_csr(key, "test-kiosk-01"), "test-kiosk-01")
    return KioskSigner(key, x509.load_pem_x509_certificate(signed.cert_pem))


def make_journey(tmp_path: Path, backend: FakeBackend, sealing_key=None, **kw) -> Journey:  # type: ignore[no-untyped-def]
    db = open_kiosk_db(tmp_path / "kiosk.db")
    cache = CatalogCache(db)
    if sealing_key is not None:
        body = json.loads(DEMO_SNAPSHOT.read_text(encoding="utf-8"))
        body["sealing_public_key_pem"] = sealing.public_key_pem(sealing_key)
        cache.store(body, '"v1"')
    return Journey(
        kiosk_id="test-kiosk-01",
        journal=Journal(db, Outbox(db)),
        receipts=ReceiptNumbers(db, "test-kiosk-01"),
        catalog_cache=cache,
        backend=backend,
        now=lambda: datetime(2026, 11, 23, 10, 0),
        **kw,
    )


def events(journey: Journey) -> list[tuple[str, dict]]:
    return [(e.kind, json.loads(e.body)) for e in journey.journal.outbox.next_batch(1000)]


def to_home(journey: Journey, reader: SimCardReader) -> None:
    assert journey.card_inserted()
    journey.card_read(reader.read_identity())
    journey.face_result(MATCH, 500, 0.4)
    assert journey.screen is Screen.HOME


def test_online_application_names_the_citizen_and_uses_e_licences(
    tmp_path: Path, reader: SimCardReader
) -> None:
    backend = FakeBackend(
        licences=[{"licence_no": "HKB-1", "type_code": "HKB", "title": "居民户口簿"}]
    )
    journey = make_journey(tmp_path, backend)
    to_home(journey, reader)
    assert journey.visit.backend is not None and journey.visit.backend.citizen_id == CITIZEN_ID
    journey.open_catalog()
    journey.choose_item(ITEM)
    assert journey.screen is Screen.GUIDE
    journey.start_application()
    assert journey.screen is Screen.APPLY
    assert [(m.name, m.source, m.licence_no) for m in journey.visit.materials] == [
        ("居民身份证", "card", None),
        ("居民户口簿", "e_licence", "HKB-1"),
        ("近期免冠彩色证件照片", "paper", None),
    ]
    transaction = journey.submit_application("13800138000", "window")
    assert transaction is not None and transaction.receipt_no == "TEST-KIOSK-01-20261123-0001"
    journey.receipt_printed(transaction, "printed")
    journey.open_rating()
    journey.rate(5, ["slow"])  # reasons only count for a low rating
    journey.card_removed()
    assert journey.screen is Screen.ATTRACT and journey.visit is None
    kinds = [k for k, _ in events(journey)]
    assert kinds == [
        "session.started",
        "card.read",
        "face.verified",
        "application.submitted",
        "receipt.printed",
        "rating.submitted",
        "session.ended",
    ]
    bodies = dict(events(journey))
    assert bodies["application.submitted"]["citizen_id"] == CITIZEN_ID
    assert bodies["rating.submitted"] == {
        "session_id": bodies["session.started"]["session_id"],
        "level": 5,
        "reasons": [],
        "item_code": ITEM,
        "receipt_no": "TEST-KIOSK-01-20261123-0001",
    }
    assert bodies["session.ended"]["reason"] == "card_removed"
    assert backend.sessions == {} and len(backend.closed) == 1


def test_offline_without_a_sealing_key_the_kiosk_refuses_to_take_the_application(
    tmp_path: Path, reader: SimCardReader
) -> None:
    journey = make_journey(tmp_path, FakeBackend(online=False))
    to_home(journey, reader)
    assert journey.offline
    journey.open_catalog()
    journey.choose_item(ITEM)
    journey.start_application()
    assert journey.submit_application(None, "window") is None
    assert journey.screen is Screen.APPLY and journey.notice == "apply.cannot_offline"
    assert "application.submitted" not in [k for k, _ in events(journey)]


def test_offline_the_applicant_is_sealed_and_lookup_shows_it_queued(
    tmp_path: Path, reader: SimCardReader, sealing_key
) -> None:  # type: ignore[no-untyped-def]
    journey = make_journey(tmp_path, FakeBackend(online=False), sealing_key)
    to_home(journey, reader)
    journey.open_catalog()
    journey.choose_item(ITEM)
    journey.start_application()
    transaction = journey.submit_application(None, "post")
    body = dict(events(journey))["application.submitted"]
    assert json.loads(sealing.unseal(sealing_key, body["applicant_sealed"])) == {
        "id_number": "11010519491231002X",
        "name": "张三",
    }
    journey.open_lookup()
    assert journey.screen is Screen.LOOKUP and journey.notice == "lookup.offline"
    assert journey.lookup_rows() == [
        {"receipt_no": transaction.receipt_no, "item_name": "居民身份证换领", "status": "queued"}
    ]


def apply_offline(journey: Journey, reader) -> tuple[dict, object]:  # type: ignore[no-untyped-def]
    to_home(journey, reader)
    assert journey.offline
    journey.open_catalog()
    journey.choose_item(ITEM)
    journey.start_application()
    transaction = journey.submit_application(None, "post")
    assert transaction is not None and journey.screen is Screen.DONE
    return dict(events(journey))["application.submitted"], transaction


def check_offline_proof(body: dict, sealing_key, signer: KioskSigner) -> None:  # type: ignore[no-untyped-def]
    """What the backend will do: open the applicant, check the proof against it."""
    opened = json.loads(sealing.unseal(sealing_key, body["applicant_sealed"]))
    offline_proof.verify(
        body["offline_proof"],
        kiosk_id="test-kiosk-01",
        receipt_no=body["receipt_no"],
        item_code=body["item_code"],
        applicant_sealed=body["applicant_sealed"],
        id_number=opened["id_number"],
        kiosk_certificate=signer.certificate,
        issuer_public_key=offline_proof.demo_issuer_public_key(),
    )


def test_offline_the_card_proves_the_application_and_the_kiosk_signs_it(
    tmp_path: Path, reader: SimCardReader, sealing_key, kiosk_signer: KioskSigner
) -> None:  # type: ignore[no-untyped-def]
    journey = make_journey(
        tmp_path,
        FakeBackend(online=False),
        sealing_key,
        card_prover=reader.prove,
        signer=kiosk_signer,
    )
    body, _ = apply_offline(journey, reader)
    assert body["offline_proof"]["face"] == {"decision": "match", "liveness": "passed"}
    ApplicationSubmitted.model_validate(body)  # what the outbox holds passes the contract
    check_offline_proof(body, sealing_key, kiosk_signer)
    assert "11010519491231002X" not in json.dumps(body["offline_proof"])


def test_offline_a_card_gone_or_swapped_at_submit_still_sends_the_application(
    tmp_path: Path, sealing_key, kiosk_signer: KioskSigner, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    for step in ("removed", "swapped"):
        reader = SimCardReader()
        reader.insert_card("genuine")
        journey = make_journey(
            tmp_path / step,
            FakeBackend(online=False),
            sealing_key,
            card_prover=reader.prove,
            signer=kiosk_signer,
        )
        to_home(journey, reader)
        journey.open_catalog()
        journey.choose_item(ITEM)
        journey.start_application()
        if step == "removed":
            reader.remove_card()
        else:  # the same holder's other card, put in instead
            reader.insert_card("not-yet-valid")
        with caplog.at_level(logging.WARNING, logger="kiosk.journey"):
            assert journey.submit_application(None, "post") is not None
        body = dict(events(journey))["application.submitted"]
        assert "offline_proof" not in body and body["applicant_sealed"]
        assert "goes without a card proof: CardRemoved" in caplog.text
        caplog.clear()


def test_offline_a_kiosk_without_an_enrolled_key_sends_no_proof_and_says_so(
    tmp_path: Path, reader: SimCardReader, sealing_key, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    journey = make_journey(
        tmp_path, FakeBackend(online=False), sealing_key, card_prover=reader.prove
    )
    with caplog.at_level(logging.WARNING, logger="kiosk.journey"):
        body, _ = apply_offline(journey, reader)
    assert "offline_proof" not in body and body["applicant_sealed"]
    assert "no enrolled key" in caplog.text


def test_online_applications_carry_no_offline_proof(
    tmp_path: Path, reader: SimCardReader, sealing_key, kiosk_signer: KioskSigner
) -> None:  # type: ignore[no-untyped-def]
    journey = make_journey(
        tmp_path, FakeBackend(), sealing_key, card_prover=reader.prove, signer=kiosk_signer
    )
    to_home(journey, reader)
    journey.open_catalog()
    journey.choose_item(ITEM)
    journey.start_application()
    assert journey.submit_application(None, "post") is not None
    body = dict(events(journey))["application.submitted"]
    assert "offline_proof" not in body and "applicant_sealed" not in body


def test_offline_proof_over_pcscd_and_the_virtual_card(
    tmp_path: Path,
    sealing_key,
    kiosk_signer: KioskSigner,
    pcscd_with_vpcd: PcscdDaemon,
) -> None:  # type: ignore[no-untyped-def]
    """The real stack: pyscard, pcscd, vpcd and the virtual card answer the challenge."""
    from devices.card.pcsc import PcscCardReader

    reader = PcscCardReader(IssuerPublicKey.demo(), poll_interval=0.1)
    reader.start()
    card = VirtualCard(make_demo_card("genuine"), port=pcscd_with_vpcd.vpcd_port)
    card.insert()
    try:
        assert reader.wait_for_card(10)
        journey = make_journey(
            tmp_path,
            FakeBackend(online=False),
            sealing_key,
            card_prover=reader.prove,
            signer=kiosk_signer,
        )
        body, _ = apply_offline(journey, reader)
    finally:
        card.remove()
        reader.stop()
    check_offline_proof(body, sealing_key, kiosk_signer)


def test_three_refused_faces_refer_to_the_window(tmp_path: Path, reader: SimCardReader) -> None:
    journey = make_journey(tmp_path, FakeBackend(), max_face_attempts=3)
    journey.card_inserted()
    journey.card_read(reader.read_identity())
    journey.face_result(NO_MATCH, 400, 0.4)
    assert journey.screen is Screen.FACE and journey.notice == "face.retry.no_match"
    journey.face_result(
        {"decision": "liveness_failed", "distance": 0.3, "liveness": "failed"}, 400, 0.4
    )
    assert journey.notice == "face.retry.liveness_failed"
    journey.face_result(NO_MATCH, 400, 0.4)
    assert journey.screen is Screen.REFERRED
    journey.card_removed()
    assert dict(events(journey))["session.ended"]["reason"] == "referred"
    assert [b["attempt"] for k, b in events(journey) if k == "face.verified"] == [1, 2, 3]


def test_idle_timeout_counts_down_then_ends_and_forgets(
    tmp_path: Path, reader: SimCardReader
) -> None:
    clock = Clock()
    cleared: list[bool] = []
    journey = make_journey(tmp_path, FakeBackend(), clock=clock, idle_timeout_s=60, countdown_s=10)
    journey.on_clear.append(lambda: cleared.append(True))
    to_home(journey, reader)
    clock.now += 49
    journey.tick()
    assert journey.countdown() is None
    clock.now += 2
    assert journey.countdown() == 9
    journey.touch()  # any touch restarts the count
    clock.now += 50
    journey.tick()
    assert journey.screen is Screen.HOME
    clock.now += 11
    journey.tick()
    assert journey.screen is Screen.ATTRACT and journey.visit is None and cleared == [True]
    assert dict(events(journey))["session.ended"] == {
        "session_id": dict(events(journey))["session.started"]["session_id"],
        "reason": "idle_timeout",
        "duration_s": 112.0,  # 49 + 2 + 50 + 11 s since the card went in
    }


def test_a_late_backend_answer_for_an_ended_session_is_dropped(
    tmp_path: Path, reader: SimCardReader
) -> None:
    pending = []
    journey = make_journey(
        tmp_path, FakeBackend(), runner=lambda work, done: pending.append((work, done))
    )
    journey.card_inserted()
    journey.card_read(reader.read_identity())
    journey.face_result(MATCH, 500, 0.4)
    journey.end("card_removed")
    work, done = pending[0]
    done(work())  # the session answer arrives after the citizen left
    assert journey.visit is None and journey.screen is Screen.ATTRACT


def test_card_failures_are_journalled_without_a_session(tmp_path: Path) -> None:
    journey = make_journey(tmp_path, FakeBackend())
    assert journey.card_inserted()
    journey.card_failed("card.not_authentic")
    assert journey.screen is Screen.CARD_REJECTED and journey.visit is None
    journey.card_removed()
    assert journey.screen is Screen.ATTRACT
    ((kind, body),) = events(journey)
    assert kind == "card.read" and body["outcome"] == "not_authentic" and "holder" not in body


def test_faults_and_locks_take_the_kiosk_out_of_service(
    tmp_path: Path, reader: SimCardReader
) -> None:
    journey = make_journey(tmp_path, FakeBackend())
    to_home(journey, reader)
    journey.devices_changed({"camera": DeviceHealth("absent", "unplugged")})
    assert journey.screen is Screen.OUT_OF_SERVICE and journey.visit is None
    assert dict(events(journey))["session.ended"]["reason"] == "fault"
    assert not journey.card_inserted()
    journey.devices_changed({"camera": DeviceHealth("ok")})
    assert journey.screen is Screen.ATTRACT
    journey.devices_changed({"printer": DeviceHealth("fault", paper="out")})
    assert journey.screen is Screen.ATTRACT, "a printer without paper does not stop the kiosk"
    journey.lock()
    assert journey.screen is Screen.OUT_OF_SERVICE and journey.notice == "oos.locked"
    journey.unlock()
    assert journey.screen is Screen.ATTRACT


def test_technician_card_opens_maintenance(tmp_path: Path, reader: SimCardReader) -> None:
    serial = reader.read_identity().serial
    journey = make_journey(tmp_path, FakeBackend(), technician_serials=frozenset({serial}))
    journey.card_inserted()
    journey.card_read(reader.read_identity())
    assert journey.screen is Screen.MAINTENANCE and journey.visit is None
    assert events(journey) == []
    journey.leave_maintenance()
    assert journey.screen is Screen.ATTRACT


def test_catalog_sync_keeps_the_cache_when_offline(tmp_path: Path) -> None:
    from kiosk.backend_client import CatalogFetch

    backend = FakeBackend()
    body = json.loads(DEMO_SNAPSHOT.read_text(encoding="utf-8"))
    body["version"] = "42"
    backend.catalog = CatalogFetch(body, '"v42"')
    journey = make_journey(tmp_path, backend)
    results: list[bool] = []
    journey.sync_catalog(results.append)
    assert results == [True] and journey.catalog.version == "42"
    backend.online = False
    journey.sync_catalog(results.append)
    assert results == [True, False] and journey.catalog.version == "42" and journey.offline
    backend.online = True
    journey.sync_catalog(results.append)  # same ETag: 304
    assert results[-1] is True and journey.catalog_cache.etag() == '"v42"'


def test_card_pulled_out_during_the_read_leaves_nothing(
    tmp_path: Path, reader: SimCardReader
) -> None:
    journey = make_journey(tmp_path, FakeBackend())
    assert journey.card_inserted()
    identity = reader.read_identity()
    journey.card_removed()  # before the read's result came back
    assert journey.screen is Screen.ATTRACT and journey.visit is None
    journey.card_read(identity)  # the late result is ignored
    assert journey.screen is Screen.ATTRACT and journey.visit is None
    assert events(journey) == []


def test_a_lock_waits_for_the_citizen_at_the_screen(tmp_path: Path, reader: SimCardReader) -> None:
    journey = make_journey(tmp_path, FakeBackend())
    to_home(journey, reader)
    journey.lock()
    assert journey.screen is Screen.HOME, "ops never cut a citizen's session short"
    journey.card_removed()
    assert journey.screen is Screen.OUT_OF_SERVICE and journey.notice == "oos.locked"
    assert not journey.card_inserted()


def test_elderly_mode_ends_with_the_session(tmp_path: Path, reader: SimCardReader) -> None:
    journey = make_journey(tmp_path, FakeBackend())
    to_home(journey, reader)
    journey.toggle_elderly()
    assert journey.elderly
    journey.end("completed")
    assert not journey.elderly


def test_anyone_may_read_the_guides_without_a_card(tmp_path: Path, reader: SimCardReader) -> None:
    clock = Clock()
    journey = make_journey(tmp_path, FakeBackend(), clock=clock, idle_timeout_s=60, countdown_s=10)
    journey.browse()
    assert journey.screen is Screen.CATALOG and journey.browsing and not journey.in_session
    journey.choose_item(ITEM)
    assert journey.screen is Screen.GUIDE and journey.current_item.code == ITEM
    journey.start_application()
    assert journey.screen is Screen.GUIDE, "applying needs the card"
    clock.now += 55
    assert journey.countdown() == 5
    clock.now += 6
    journey.tick()
    assert (
        journey.screen is Screen.ATTRACT and not journey.browsing and journey.current_item is None
    )
    journey.browse()
    journey.choose_item(ITEM)
    assert journey.card_inserted(), "a card put in while browsing starts a session"
    assert journey.screen is Screen.READING and not journey.browsing
    journey.card_read(reader.read_identity())
    assert journey.current_item is None
    assert [k for k, _ in events(journey)] == ["session.started", "card.read"]
