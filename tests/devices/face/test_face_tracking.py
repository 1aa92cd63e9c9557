"""Tracking: later frames searched near the known face, the whole frame still checked."""

from __future__ import annotations

import logging

import face_recognition.api
import numpy as np
import pytest

from devices.face import Decision, FaceSettings, Liveness, LivenessSettings
from devices.face.sim import blink_sequence
from devices.face.verifier import DlibFaceVerifier

from .test_face_multiple import with_small_face

WHOLE = (240, 320)  # a 640 x 480 frame shrunk to detect_max_side: a whole-frame search
EVERY = FaceSettings().full_detection_every


@pytest.fixture
def searches(monkeypatch) -> list[tuple[int, int]]:
    """The shape of every image dlib's detector is run on, in order."""
    seen: list[tuple[int, int]] = []
    real = face_recognition.api.face_detector

    def counting(image, upsample=0):
        seen.append(image.shape[:2])
        return real(image, upsample)

    monkeypatch.setattr(face_recognition.api, "face_detector", counting)
    return seen


@pytest.fixture(scope="module")
def biden_face(images, faces):
    return images["biden.jpg"], faces["biden.jpg"].box


def test_a_blink_is_searched_whole_only_first_and_on_the_deciding_frame(
    verifier, card_reference, images, searches
):
    frames = blink_sequence(images["obama.jpg"], size=(640, 480))  # the benchmark's attempt
    searches.clear()  # blink_sequence's own detection on the portrait
    result = verifier.verify(card_reference, frames)

    assert result.decision is Decision.MATCH and result.liveness is Liveness.PASSED
    whole = [shape for shape in searches if shape == WHOLE]
    assert len(whole) == 2 < result.frames_seen  # the first frame, the frame that decided
    assert all(max(shape) < 260 for shape in searches if shape != WHOLE)  # the rest: small


def test_encoding_does_not_detect_again(verifier, images, faces, searches):
    searches.clear()
    verifier._live.encode(images["obama2.jpg"], faces["obama2.jpg"])
    assert searches == []


def test_every_frame_whole_when_set_to_one(card_reference, images, searches):
    every = DlibFaceVerifier(FaceSettings(full_detection_every=1))
    frames = blink_sequence(images["obama.jpg"], size=(640, 480))
    searches.clear()
    result = every.verify(card_reference, frames)
    assert result.decision is Decision.MATCH
    assert sum(shape == WHOLE for shape in searches) == result.frames_seen


def test_a_second_face_arriving_mid_attempt_is_still_caught(
    verifier, card_reference, images, biden_face
):
    """Out of the tracked region: seen at the next whole-frame search, then every frame."""
    alone = blink_sequence(images["obama2.jpg"], size=(640, 480), face_side=150)
    frames = [f if i < 3 else with_small_face(f, *biden_face, 110) for i, f in enumerate(alone)]
    result = verifier.verify(card_reference, frames)

    assert result.decision is Decision.MULTIPLE_FACES
    assert result.frames_seen <= 3 + EVERY + 1


def test_a_second_face_arriving_as_the_blink_ends_is_caught(
    verifier, card_reference, images, biden_face
):
    """The frame that would decide is always searched whole: no match is given past it."""
    alone = blink_sequence(images["obama2.jpg"], size=(640, 480), face_side=170)
    assert verifier.verify(card_reference, alone).decision is Decision.MATCH  # 6 frames read
    frames = [f if i < 5 else with_small_face(f, *biden_face, 110) for i, f in enumerate(alone)]
    result = verifier.verify(card_reference, frames)
    assert result.decision is Decision.MULTIPLE_FACES


def test_a_face_that_jumps_while_tracked_resets_the_evidence(
    verifier_without_liveness, card_reference, canvas_frames, caplog
):
    """The impostor tracked for two frames, then the holder elsewhere: only the holder counts."""
    moved = np.ascontiguousarray(np.roll(canvas_frames["obama2.jpg"], 200, axis=1))
    frames = [canvas_frames["biden.jpg"]] * 2 + [moved] * 3
    caplog.set_level(logging.INFO, logger="devices.face.verifier")
    result = verifier_without_liveness.verify(card_reference, frames)

    assert result.decision is Decision.MATCH
    assert result.matched_frames == 2 and result.compared_frames == 2
    assert any("evidence reset" in r.getMessage() for r in caplog.records)


def test_a_photo_swapped_in_place_while_tracked_is_not_a_blink(verifier, card_reference, images):
    """A still photo tracked frame after frame never passes liveness."""
    still = blink_sequence(images["obama2.jpg"], size=(640, 480))[0]
    result = verifier.verify(card_reference, [still] * (2 * EVERY + 3))
    assert result.decision is Decision.LIVENESS_FAILED


def test_full_detection_every_must_be_positive():
    with pytest.raises(ValueError):
        FaceSettings(full_detection_every=0)
    assert (
        FaceSettings(
            full_detection_every=3, liveness=LivenessSettings(enabled=False)
        ).full_detection_every
        == 3
    )
