"""What a verification decides. Only these fields ever leave the kiosk."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Decision(StrEnum):
    MATCH = "match"
    NO_MATCH = "no_match"
    NO_FACE = "no_face"
    MULTIPLE_FACES = "multiple_faces"
    LIVENESS_FAILED = "liveness_failed"
    ERROR = "error"


class Liveness(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_CHECKED = "not_checked"


@dataclass(frozen=True)
class VerificationResult:
    """The outcome of one attempt. Holds numbers only: no image, no encoding.

    ``distance`` is the median distance over the compared frames (None when no
    face was compared); ``matched_frames`` of ``compared_frames`` were within the
    threshold, and ``required_frames`` of them had to be (k of n).
    """

    decision: Decision
    distance: float | None
    liveness: Liveness
    elapsed_ms: float
    frames_seen: int = 0
    compared_frames: int = 0
    matched_frames: int = 0
    required_frames: int = 0
    detail: str | None = None

    @property
    def accepted(self) -> bool:
        return self.decision is Decision.MATCH

    def to_event(self) -> dict[str, Any]:
        """The event body for the outbox: the decision, distance, liveness, time."""
        return {
            "decision": self.decision.value,
            "distance": None if self.distance is None else round(self.distance, 4),
            "liveness": self.liveness.value,
            "elapsed_ms": round(self.elapsed_ms, 1),
        }
