"""The message kinds of contract v1 and the model of each body.

``KINDS`` is the one table of what may travel on which channel. Bodies refuse
unknown fields, so a field that should never travel (a raw identity number, a
face image) cannot slip through by accident: identity numbers travel masked
only (first 6 and last 4 characters), and face results carry the decision,
never an image or an encoding.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from mqtt.contract.envelope import require_utc
from mqtt.contract.topics import Channel

MaskedIdNumber = Annotated[
    str,
    Field(
        pattern=r"^\d{6}\*{8}\d{3}[\dX]$", description="identity number, masked: 110105********123X"
    ),
]
Text = Annotated[str, Field(max_length=500)]
Code = Annotated[str, Field(min_length=1, max_length=64)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- status and health -------------------------------------------------------------------------

DeviceState = Literal["ok", "degraded", "fault", "absent", "unknown"]


class StatusBody(Body):
    """Retained on kiosk/{id}/status. The last will carries state=offline.

    ``connected_at`` names the connection a status belongs to, so a late last
    will of an earlier connection cannot mark a reconnected kiosk offline.
    """

    state: Literal["online", "offline"]
    connected_at: AwareDatetime
    app_version: Text | None = None

    _utc = field_validator("connected_at")(require_utc)


class DeviceHealth(Body):
    state: DeviceState
    detail: Text | None = None
    updated_at: AwareDatetime | None = None


class HealthBody(Body):
    devices: dict[Code, DeviceHealth] = Field(default_factory=dict, max_length=32)
    paper: Literal["ok", "low", "out", "unknown"] = "unknown"
    disk_free_bytes: int = Field(ge=0)
    disk_total_bytes: int = Field(ge=0)
    temperature_c: float | None = None
    app_version: Text
    uptime_s: float = Field(ge=0)
    outbox_depth: int = Field(ge=0)
    outbox_oldest_age_s: float | None = Field(default=None, ge=0)
    last_error: Text | None = None


# --- events (from the kiosk's outbox) ----------------------------------------------------------

CardType = Literal["resident_id", "social_security", "other"]


class SessionStarted(Body):
    session_id: uuid.UUID
    card_type: CardType
    holder: MaskedIdNumber


class CardRead(Body):
    session_id: uuid.UUID
    card_type: CardType
    outcome: Literal["ok", "not_authentic", "expired", "unreadable", "removed", "unknown_card"]
    holder: MaskedIdNumber | None = None


class FaceVerified(Body):
    session_id: uuid.UUID
    decision: Literal["match", "no_match", "no_face", "multiple_faces", "liveness_failed", "error"]
    distance: float | None = Field(default=None, ge=0)
    threshold: float | None = Field(default=None, ge=0)
    liveness: Literal["passed", "failed", "not_checked"]
    attempt: int = Field(ge=1, le=10)
    duration_ms: int = Field(ge=0)


class MaterialUsed(Body):
    name: Text
    source: Literal["e_licence", "card", "scan", "paper", "none"]
    licence_no: Code | None = None


Hex32 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="32 bytes, lower-case hex")]
Hex16 = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$", description="16 bytes, lower-case hex")]
Base64Signature = Annotated[
    str, Field(pattern=r"^[A-Za-z0-9+/]{86}==$", description="Ed25519 signature, base64")
]
FaceDecision = Literal["match", "no_match", "no_face", "multiple_faces", "liveness_failed", "error"]
Liveness = Literal["passed", "failed", "not_checked"]


class CardProofWire(Body):
    """One answer of the citizen's card to the application's challenge (devices/card/auth.py
    ``CardProof.to_wire``); the identity number is not in it."""

    serial: Annotated[str, Field(pattern=r"^([0-9a-f]{2}){1,16}$", description="card serial, hex")]
    holder_digest: Hex32  # SHA-256 of the card's holder file
    photo_digest: Hex32  # SHA-256 of the card's photo file
    card_public_key: Hex32  # the card's Ed25519 public key, certified by the issuer
    certificate_signature: Base64Signature  # the issuer's, over the certificate
    challenge: Hex16  # challenge_for(kiosk, receipt, item, sealed applicant)
    signature: Base64Signature  # the card's, over the challenge


class FaceOutcome(Body):
    decision: FaceDecision
    liveness: Liveness


class OfflineProof(Body):
    """What an offline kiosk vouches for with an application (provisioning/offline_proof.py):
    the card's answer, the face decision and the time, signed with the kiosk's enrolled key."""

    card: CardProofWire
    face: FaceOutcome
    at: AwareDatetime
    kiosk_signature: Annotated[
        str,
        Field(
            pattern=r"^[A-Za-z0-9+/]+={0,2}$",
            min_length=16,
            max_length=256,
            description="ECDSA P-256 / SHA-256 (DER), base64",
        ),
    ]

    _utc = field_validator("at")(require_utc)


class ApplicationSubmitted(Body):
    """An application made at the kiosk; its applicant travels in one of two ways.

    ``citizen_id`` when the kiosk had a vouched online session with the
    backend; otherwise (offline) ``applicant_sealed``: the citizen's
    ``{"id_number", "name"}`` as JSON sealed to the backend's public sealing
    key (provisioning/sealing.py), which only the backend can open. At least
    one is required; ``applicant`` stays masked either way. With
    ``applicant_sealed``, ``offline_proof`` (when the kiosk could sign it) is
    the card's answer to this application's challenge and the face decision,
    signed by the kiosk: the backend checks it against the opened applicant.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "anyOf": [{"required": ["citizen_id"]}, {"required": ["applicant_sealed"]}]
        },
    )

    session_id: uuid.UUID
    receipt_no: Code
    item_code: Code
    item_name: Text
    applicant: MaskedIdNumber
    citizen_id: uuid.UUID | None = None
    # The backend's session at this kiosk that vouched for ``citizen_id`` (its session_ref);
    # without it, or with one not issued to this kiosk for this citizen at this time, the
    # application waits for a reviewer (unmatched) and is never approved automatically.
    citizen_session: uuid.UUID | None = None
    applicant_sealed: Annotated[str, Field(min_length=16, max_length=4096)] | None = None
    offline_proof: OfflineProof | None = None
    materials: list[MaterialUsed] = Field(default_factory=list, max_length=50)
    form: dict[Code, Text] = Field(default_factory=dict, max_length=50)

    @model_validator(mode="after")
    def _applicant_known(self) -> ApplicationSubmitted:
        if self.citizen_id is None and self.applicant_sealed is None:
            raise ValueError("one of citizen_id or applicant_sealed is required")
        return self


class ReceiptPrinted(Body):
    session_id: uuid.UUID | None = None
    document: Literal["receipt", "certificate", "licence", "test_page", "status_report"]
    reference: Code | None = None
    outcome: Literal["printed", "out_of_paper", "failed"]


class RatingSubmitted(Body):
    session_id: uuid.UUID
    level: int = Field(ge=1, le=5, description="5 非常满意 ... 1 非常不满意")
    item_code: Code | None = None
    receipt_no: Code | None = None
    reasons: list[Code] = Field(default_factory=list, max_length=10)
    comment: Text | None = None
    # The backend's session at this kiosk (as in application.submitted): a rating is linked to
    # an application only when it comes from the visit that made it or from the citizen's own
    # vouched session at this kiosk.
    citizen_session: uuid.UUID | None = None


class SessionEnded(Body):
    session_id: uuid.UUID
    reason: Literal["card_removed", "idle_timeout", "completed", "fault", "referred"]
    duration_s: float = Field(ge=0)


class DeviceFault(Body):
    device: Code
    code: Code
    detail: Text | None = None


class DeviceRecovered(Body):
    device: Code


# --- acknowledgements and commands -------------------------------------------------------------

MAX_ACK_IDS = 1000


class EventsAck(Body):
    """Sent by ingest: these event ids are committed; they may leave the outbox."""

    ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_ACK_IDS)


class Command(Body):
    name: Code
    args: dict[Code, Any] = Field(default_factory=dict)
    expires_at: AwareDatetime

    _utc = field_validator("expires_at")(require_utc)


class CommandResult(Body):
    command_id: uuid.UUID
    outcome: Literal["done", "failed", "expired", "unsupported"]
    detail: Text | None = None
    data: dict[Code, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class Kind:
    name: str
    channel: Channel
    model: type[Body]
    summary: str


KINDS: dict[str, Kind] = {
    k.name: k
    for k in [
        Kind("status", Channel.STATUS, StatusBody, "online/offline; retained; the last will"),
        Kind("health", Channel.HEALTH, HealthBody, "periodic health snapshot"),
        Kind("session.started", Channel.EVENTS, SessionStarted, "a citizen's session began"),
        Kind("card.read", Channel.EVENTS, CardRead, "a card was read and checked"),
        Kind("face.verified", Channel.EVENTS, FaceVerified, "face verification result"),
        Kind("application.submitted", Channel.EVENTS, ApplicationSubmitted, "an application"),
        Kind("receipt.printed", Channel.EVENTS, ReceiptPrinted, "a document was printed"),
        Kind("rating.submitted", Channel.EVENTS, RatingSubmitted, "好差评 rating"),
        Kind("session.ended", Channel.EVENTS, SessionEnded, "a citizen's session ended"),
        Kind("device.fault", Channel.EVENTS, DeviceFault, "a device failed"),
        Kind("device.recovered", Channel.EVENTS, DeviceRecovered, "a device works again"),
        Kind("events.ack", Channel.EVENTS_ACK, EventsAck, "event ids stored by ingest"),
        Kind("command", Channel.COMMANDS, Command, "a remote command"),
        Kind("command.result", Channel.COMMANDS_ACK, CommandResult, "a command's result"),
    ]
}
