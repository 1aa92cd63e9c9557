"""The contract's single gate: every way a message can be wrong has its own reason."""

from __future__ import annotations

import json
import uuid

import pytest

from mqtt.contract import ContractError, decode, encode, make_envelope
from mqtt.contract.envelope import MAX_MESSAGE_BYTES
from mqtt.contract.messages import EventsAck, SessionEnded

KIOSK = "k-001"
TOPIC = f"kiosk/{KIOSK}/events"
SESSION = "6f1c5b1e-3f7a-4d2a-9d3e-0a1b2c3d4e5f"


def valid(**overrides: object) -> dict:
    message = {
        "v": 1,
        "id": str(uuid.uuid4()),
        "kiosk": KIOSK,
        "ts": "2026-11-23T08:00:00.123456Z",
        "kind": "session.ended",
        "seq": 7,
        "body": {"session_id": SESSION, "reason": "completed", "duration_s": 42.5},
    }
    message.update(overrides)
    return message


def raw(message: object) -> bytes:
    return json.dumps(message).encode()


def test_a_valid_event_decodes_to_its_typed_body() -> None:
    message = decode(TOPIC, raw(valid()))
    assert isinstance(message.body, SessionEnded)
    assert message.body.duration_s == 42.5
    assert message.envelope.seq == 7
    assert message.kiosk == KIOSK
    assert message.envelope.ts.tzinfo is not None


@pytest.mark.parametrize(
    ("topic", "payload", "code"),
    [
        (TOPIC, b"x" * (MAX_MESSAGE_BYTES + 1), "too_large"),
        ("kiosk/k-001/nonsense", raw(valid()), "bad_topic"),
        ("other/k-001/events", raw(valid()), "bad_topic"),
        ("kiosk/K_BAD/events", raw(valid(kiosk="K_BAD")), "bad_kiosk_id"),
        (TOPIC, b"not json at all", "not_json"),
        (TOPIC, b"\xff\xfe\x00binary", "not_json"),
        (TOPIC, b"[" * 100_000 + b"]" * 100_000, "too_large"),
        (TOPIC, b"[" * 30_000 + b"]" * 30_000, "not_json"),
        (TOPIC, raw([1, 2, 3]), "not_object"),
        (TOPIC, raw(valid(v=2)), "unknown_version"),
        (TOPIC, raw({k: v for k, v in valid().items() if k != "v"}), "unknown_version"),
        (TOPIC, raw(valid(id="not-a-uuid")), "bad_envelope"),
        (TOPIC, raw(valid(ts="2026-11-23T08:00:00")), "bad_envelope"),
        (TOPIC, raw(valid(ts="2026-11-23T16:00:00+08:00")), "bad_envelope"),
        (TOPIC, raw(valid(extra="field")), "bad_envelope"),
        (TOPIC, raw(valid(seq=-1)), "bad_envelope"),
        (TOPIC, raw(valid(kiosk="k-002")), "kiosk_mismatch"),
        (TOPIC, raw(valid(kind="no.such.kind")), "unknown_kind"),
        (TOPIC, raw(valid(kind="health")), "wrong_channel"),
        (TOPIC, raw(valid(body={"session_id": SESSION})), "bad_body"),
        (
            TOPIC,
            raw(valid(body={**valid()["body"], "id_number": "11010519491231002X"})),
            "bad_body",
        ),
    ],
)
def test_each_kind_of_bad_message_is_refused_with_its_reason(
    topic: str, payload: bytes, code: str
) -> None:
    with pytest.raises(ContractError) as caught:
        decode(topic, payload)
    assert caught.value.code == code
    assert caught.value.reason


def test_a_raw_identity_number_cannot_travel_in_a_masked_field() -> None:
    body = {
        "session_id": SESSION,
        "card_type": "resident_id",
        "holder": "11010519491231002X",
    }
    with pytest.raises(ContractError, match="holder"):
        make_envelope(KIOSK, "session.started", body)
    ok = make_envelope(KIOSK, "session.started", {**body, "holder": "110105********002X"})
    assert ok.body["holder"] == "110105********002X"


def test_encode_and_decode_round_trip() -> None:
    envelope = make_envelope(KIOSK, "events.ack", EventsAck(ids=[uuid.uuid4(), uuid.uuid4()]))
    payload = encode(envelope)
    assert b'"ts":"' in payload and payload.count(b"Z") >= 1
    message = decode(f"kiosk/{KIOSK}/events/ack", payload)
    assert message.envelope == envelope


def test_encode_refuses_an_oversized_message() -> None:
    big = make_envelope(KIOSK, "device.fault", {"device": "printer", "code": "x"})
    big = big.model_copy(update={"body": {"pad": "x" * MAX_MESSAGE_BYTES}})
    with pytest.raises(ContractError) as caught:
        encode(big)
    assert caught.value.code == "too_large"


def offline_application() -> dict:
    return {
        "session_id": str(uuid.uuid4()),
        "receipt_no": "K1-20261123-0001",
        "item_code": "ITEM",
        "item_name": "换领",
        "applicant": "110105********002X",
        "applicant_sealed": "S" * 4096,
        "offline_proof": {
            "card": {
                "serial": "4b10000000000001",
                "holder_digest": "ab" * 32,
                "photo_digest": "cd" * 32,
                "card_public_key": "ef" * 32,
                "certificate_signature": "A" * 86 + "==",
                "challenge": "01" * 16,
                "signature": "B" * 86 + "==",
            },
            "face": {"decision": "match", "liveness": "passed"},
            "at": "2026-11-23T02:00:00.000000Z",
            "kiosk_signature": "C" * 96,
        },
    }


def test_an_offline_proof_is_closed_and_bounded() -> None:
    from mqtt.contract.messages import ApplicationSubmitted

    body = offline_application()
    ApplicationSubmitted.model_validate(body)
    envelope = make_envelope("k110101-0001", "application.submitted", body, seq=1)
    assert len(encode(envelope)) < MAX_MESSAGE_BYTES  # the longest sealed applicant, and a proof
    for path, value in [
        (("offline_proof", "extra"), "x"),
        (("offline_proof", "card", "id_number"), "11010519491231002X"),
        (("offline_proof", "card", "serial"), "4B10000000000001"),
        (("offline_proof", "card", "signature"), "B" * 200),
        (("offline_proof", "face", "decision"), "probably"),
        (("offline_proof", "at"), "2026-11-23T10:00:00+08:00"),
        (("offline_proof", "kiosk_signature"), "C" * 300),
    ]:
        broken = offline_application()
        target = broken
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        with pytest.raises(ValueError):
            ApplicationSubmitted.model_validate(broken)
