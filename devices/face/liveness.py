"""Blink liveness: the eyes must be seen open, then closed, then open again.

A printed photo or a still picture on a phone cannot blink: its eye aspect
ratio (EAR, Soukupová and Čech, 2016) stays flat however it is moved. EAR is
the eye's height over its width from the six landmarks of each eye,

    EAR = (|p2 - p6| + |p3 - p5|) / (2 |p1 - p4|)

about 0.25-0.35 open and near 0.1 closed. The thresholds here are relative to
the person's own open-eye EAR (a high percentile of the sequence), because
open-eye EAR varies between people and a fixed cut-off would always fail some.

Tilting a photo back and forth also shrinks EAR, but it shrinks the whole
face's height with it; a "closed" frame counts only when the face's shape
(nose-to-chin height over outer-eye-corner width) stayed within
``max_geometry_change`` of its usual value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from devices.face.analysis import FaceObservation, Point
from devices.face.settings import LivenessSettings

OPEN_PERCENTILE = 80.0


def _dist(a: Point, b: Point) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


def eye_aspect_ratio(eye: Sequence[Point]) -> float:
    """EAR of one eye, from its six landmarks in dlib's 68-point order."""
    p1, p2, p3, p4, p5, p6 = eye
    width = _dist(p1, p4)
    if width == 0:
        return 0.0
    return (_dist(p2, p6) + _dist(p3, p5)) / (2.0 * width)


@dataclass(frozen=True)
class EyeSample:
    """What liveness keeps of one frame: two numbers, nothing that shows a face."""

    ear: float
    shape: float

    @classmethod
    def of(cls, face: FaceObservation) -> EyeSample:
        marks = face.landmarks
        left, right = marks["left_eye"], marks["right_eye"]
        ear = (eye_aspect_ratio(left) + eye_aspect_ratio(right)) / 2.0
        # Points 36 and 45 (outer eye corners), 27 (top of the nose) and 8 (chin).
        width = _dist(left[0], right[3])
        height = _dist(marks["nose_bridge"][0], marks["chin"][8])
        return cls(ear=ear, shape=height / width if width else 0.0)


def _percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def blinked(samples: Sequence[EyeSample], settings: LivenessSettings) -> bool:
    """True when the samples hold open -> closed (long enough, face steady) -> open."""
    if len(samples) < settings.min_closed_frames + 2:
        return False
    baseline = _percentile([s.ear for s in samples], OPEN_PERCENTILE)
    usual_shape = _percentile([s.shape for s in samples], 50.0)
    if baseline <= 0 or usual_shape <= 0:
        return False
    open_at = baseline * settings.open_ratio
    closed_at = baseline * settings.closed_ratio
    phase = "want_open"
    run = 0
    for sample in samples:
        steady = abs(sample.shape - usual_shape) / usual_shape <= settings.max_geometry_change
        if phase == "want_open":
            if sample.ear >= open_at:
                phase = "want_closed"
        elif phase == "want_closed":
            if sample.ear <= closed_at and steady:
                run += 1
                if run >= settings.min_closed_frames:
                    phase = "want_reopen"
            else:
                run = 0
        elif sample.ear >= open_at:
            return True
    return False
