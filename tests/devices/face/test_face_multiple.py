"""Two people at the camera: a distinct outcome, not "verify the larger face"."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from devices.face import Decision, FaceSettings, Liveness, LivenessSettings
from devices.face.verifier import DlibFaceVerifier


def side_by_side(*images: np.ndarray, height: int = 480) -> np.ndarray:
    """The images scaled to one height and put next to each other (obama2 | biden)."""
    scaled = [
        cv2.resize(
            im, (round(im.shape[1] * height / im.shape[0]), height), interpolation=cv2.INTER_AREA
        )
        for im in images
    ]
    return np.ascontiguousarray(np.concatenate(scaled, axis=1))


def with_small_face(frame: np.ndarray, other: np.ndarray, box, face_px: int) -> np.ndarray:
    """``frame`` with the face of ``other`` (at ``box``) scaled to ``face_px`` pixels in its
    top-left corner: a poster on the wall, or someone far back in the queue."""
    top, right, bottom, left = box
    margin = (bottom - top) // 2
    crop = other[max(0, top - margin) : bottom + margin, max(0, left - margin) : right + margin]
    scale = face_px / (bottom - top)
    size = (round(crop.shape[1] * scale), round(crop.shape[0] * scale))
    small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    out = frame.copy()
    out[: small.shape[0], : small.shape[1]] = small
    return out


@pytest.fixture(scope="module")
def two_people(images) -> np.ndarray:
    return side_by_side(images["obama2.jpg"], images["biden.jpg"])


def test_two_faces_give_multiple_faces(verifier, card_reference, two_people):
    result = verifier.verify(card_reference, [two_people] * 10)

    assert result.decision is Decision.MULTIPLE_FACES
    assert result.distance is None  # nobody was compared
    assert result.liveness is Liveness.NOT_CHECKED
    assert result.frames_seen == 2  # decided as soon as k frames showed two people
    assert result.to_event()["decision"] == "multiple_faces"


def test_two_faces_without_liveness_too(verifier_without_liveness, card_reference, two_people):
    result = verifier_without_liveness.verify(card_reference, [two_people] * 3)
    assert result.decision is Decision.MULTIPLE_FACES


def test_one_stray_frame_with_a_second_face_is_not_enough(
    verifier_without_liveness, card_reference, canvas_frames, two_people
):
    """A single detection (someone passing, a false positive) does not refuse: k frames do."""
    alone = canvas_frames["obama2.jpg"]
    assert len(verifier_without_liveness._live.detect(two_people)) == 2  # really crowded
    crowded_once = [two_people, alone, alone, alone]  # the first frame is always searched whole
    result = verifier_without_liveness.verify(card_reference, crowded_once)
    assert result.decision is Decision.MATCH


def test_a_small_face_far_behind_is_tolerated(
    verifier_without_liveness, card_reference, canvas_frames, images, faces
):
    frame = with_small_face(
        canvas_frames["obama2.jpg"], images["biden.jpg"], faces["biden.jpg"].box, 64
    )
    boxes = verifier_without_liveness._live.detect(frame)
    assert len(boxes) == 2  # the small face is seen, and tolerated for its size
    sides = [((b[2] - b[0]) * (b[1] - b[3])) ** 0.5 for b in boxes]
    assert sides[1] < 0.5 * sides[0]
    result = verifier_without_liveness.verify(card_reference, [frame] * 3)
    assert result.decision is Decision.MATCH


def test_the_ratio_is_a_setting(card_reference, two_people):
    """A deployment that tolerates comparable faces verifies the largest one instead."""
    lenient = DlibFaceVerifier(
        FaceSettings(other_face_ratio=0.9, liveness=LivenessSettings(enabled=False))
    )
    result = lenient.verify(card_reference, [two_people] * 3)
    assert result.decision is Decision.MATCH  # obama2 is the larger face


def test_ratio_outside_its_range_is_refused():
    with pytest.raises(ValueError):
        FaceSettings(other_face_ratio=0.0)
    with pytest.raises(ValueError):
        FaceSettings(other_face_ratio=1.5)
