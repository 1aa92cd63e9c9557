"""Bytes on the wire <-> validated messages.

``decode`` is the single gate every received message passes: it checks, in
this order, size, topic, JSON, version, envelope, kiosk (topic vs body), kind
(and its channel), body; the first failure raises ``ContractError`` whose
``reason`` says which and why. It never raises anything else.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn

from pydantic import BaseModel, ValidationError

from mqtt.contract.envelope import MAX_MESSAGE_BYTES, VERSION, Envelope, utc_now
from mqtt.contract.errors import ContractError
from mqtt.contract.messages import KINDS, Body
from mqtt.contract.topics import Channel, parse_topic


@dataclass(frozen=True)
class Message:
    envelope: Envelope
    channel: Channel
    body: Body

    @property
    def id(self) -> uuid.UUID:
        return self.envelope.id

    @property
    def kiosk(self) -> str:
        return self.envelope.kiosk

    @property
    def kind(self) -> str:
        return self.envelope.kind


def _summarise(err: ValidationError, limit: int = 3) -> str:
    parts = []
    for e in err.errors()[:limit]:
        loc = ".".join(str(p) for p in e["loc"]) or "(root)"
        parts.append(f"{loc}: {e['msg']}")
    more = err.error_count() - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def decode(topic: str, payload: bytes) -> Message:
    if len(payload) > MAX_MESSAGE_BYTES:
        raise ContractError("too_large", f"{len(payload)} bytes exceeds {MAX_MESSAGE_BYTES}")
    kiosk_id, channel = parse_topic(topic)
    try:
        # The fast path: pydantic parses and validates in one pass (most messages are good).
        envelope = Envelope.model_validate_json(payload)
    except ValidationError as err:
        _explain_envelope_failure(payload, err)
    if envelope.kiosk != kiosk_id:
        raise ContractError(
            "kiosk_mismatch", f"kiosk {envelope.kiosk!r} in body, {kiosk_id!r} in topic"
        )
    kind = KINDS.get(envelope.kind)
    if kind is None:
        raise ContractError("unknown_kind", f"unknown kind {envelope.kind!r}")
    if kind.channel is not channel:
        raise ContractError(
            "wrong_channel",
            f"kind {kind.name!r} belongs on {kind.channel.value!r}, not {channel.value!r}",
        )
    try:
        body = kind.model.model_validate(envelope.body)
    except ValidationError as err:
        raise ContractError("bad_body", f"{kind.name} body: {_summarise(err)}") from None
    return Message(envelope=envelope, channel=channel, body=body)


def _explain_envelope_failure(payload: bytes, err: ValidationError) -> NoReturn:
    """The slow path: say which of JSON, object, version or envelope is wrong."""
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as json_err:
        raise ContractError("not_json", f"payload is not UTF-8 JSON: {json_err}") from None
    except RecursionError:
        raise ContractError("not_json", "payload nests too deeply") from None
    if not isinstance(data, dict):
        raise ContractError("not_object", f"payload is a JSON {type(data).__name__}, not an object")
    version = data.get("v")
    if version != VERSION:
        raise ContractError("unknown_version", f"unknown contract version v={version!r}")
    raise ContractError("bad_envelope", f"envelope: {_summarise(err)}") from None


def make_envelope(
    kiosk: str,
    kind: str,
    body: BaseModel | dict[str, Any],
    *,
    id: uuid.UUID | None = None,
    ts: datetime | None = None,
    seq: int | None = None,
) -> Envelope:
    """Build an envelope, validating ``body`` against its kind's model first."""
    spec = KINDS.get(kind)
    if spec is None:
        raise ContractError("unknown_kind", f"unknown kind {kind!r}")
    try:
        model = body if isinstance(body, spec.model) else spec.model.model_validate(body)
        return Envelope(
            v=VERSION,
            id=id or uuid.uuid4(),
            kiosk=kiosk,
            ts=ts or utc_now(),
            kind=kind,
            seq=seq,
            body=model.model_dump(mode="json", exclude_none=True),
        )
    except ValidationError as err:
        raise ContractError("bad_body", f"{kind} body: {_summarise(err)}") from None


def encode(envelope: Envelope) -> bytes:
    """The wire form of an envelope; refuses one over the size limit."""
    data = envelope.model_dump(mode="json", exclude_none=True)
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if len(payload) > MAX_MESSAGE_BYTES:
        raise ContractError("too_large", f"{len(payload)} bytes exceeds {MAX_MESSAGE_BYTES}")
    return payload
