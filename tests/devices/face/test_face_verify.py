"""Verification with the real dlib models on the real images of shared/testdata/faces."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

from devices.errors import CardDataInvalid
from devices.face import Decision, FaceSettings, Liveness, LivenessSettings
from devices.face.reference import FaceReference
from devices.face.verifier import DlibFaceVerifier


def test_genuine_person_who_blinks_is_accepted(verifier, card_reference, blink_frames):
    result = verifier.verify(card_reference, blink_frames)

    assert result.decision is Decision.MATCH
    assert result.liveness is Liveness.PASSED
    assert result.distance is not None and result.distance < 0.40
    assert result.matched_frames == 2 and result.compared_frames == 2  # k settled after 2
    assert 0 < result.elapsed_ms < 15_000


@pytest.mark.parametrize("impostor", ["biden.jpg", "alex-lacamoire.png"])
def test_impostor_is_refused(verifier_without_liveness, card_reference, images, impostor):
    result = verifier_without_liveness.verify(card_reference, [images[impostor]] * 3)

    assert result.decision is Decision.NO_MATCH
    assert result.liveness is Liveness.NOT_CHECKED
    assert result.distance is not None and result.distance > 0.6
    assert result.matched_frames == 0


def test_impostor_who_blinks_is_still_refused(verifier, card_reference, canvas_frames):
    frames = [canvas_frames["biden.jpg"]] * 3
    result = verifier.verify(card_reference, frames)
    assert result.decision is not Decision.MATCH


def test_frames_without_a_face_give_no_face(verifier, card_reference, images):
    suit = images["obama2.jpg"][700:, :]  # below the chin: jacket and tie, no face
    result = verifier.verify(card_reference, [suit] * 4)

    assert result.decision is Decision.NO_FACE
    assert result.distance is None
    assert result.liveness is Liveness.NOT_CHECKED
    assert result.frames_seen == 4


def test_still_photo_fails_liveness(verifier, card_reference, images):
    """The card holder's photo held still: the right face, but it never blinks."""
    result = verifier.verify(card_reference, [images["obama2.jpg"]] * 12)

    assert result.decision is Decision.LIVENESS_FAILED
    assert result.liveness is Liveness.FAILED
    assert result.distance is not None and result.distance < 0.40  # it is the right face
    assert result.frames_seen == 12


def test_hand_held_photo_fails_liveness(verifier, card_reference, images):
    """A photo moved a little, re-lit and noisy, as in a hand: still no blink."""
    import cv2

    live = images["obama2.jpg"]
    height, width = live.shape[:2]
    rng = np.random.default_rng(7)
    frames = []
    for _ in range(12):
        matrix = cv2.getRotationMatrix2D(
            (width / 2, height / 2), rng.uniform(-4, 4), rng.uniform(0.95, 1.05)
        )
        matrix[:, 2] += rng.uniform(-10, 10, 2)
        moved = cv2.warpAffine(live, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)
        lit = moved.astype(np.float32) * rng.uniform(0.85, 1.15) + rng.normal(0, 5, moved.shape)
        frames.append(np.clip(lit, 0, 255).astype(np.uint8))

    result = verifier.verify(card_reference, frames)

    assert result.decision is Decision.LIVENESS_FAILED


def test_verifier_stops_reading_once_decided(verifier, card_reference, blink_frames):
    """Frames come from a camera: an attempt must not read more than it needs."""
    supplied = []

    def camera():
        for frame in [*blink_frames, *blink_frames]:
            supplied.append(1)
            yield frame

    result = verifier.verify(card_reference, camera())
    assert result.decision is Decision.MATCH
    assert len(supplied) == result.frames_seen < 2 * len(blink_frames)


@pytest.mark.parametrize(
    ("sequence", "k", "decision", "matched", "compared"),
    [
        # Encoded first, last, then middle, stopping once k of n is settled either way.
        (["obama2.jpg", "obama2.jpg", "biden.jpg"], 2, Decision.MATCH, 2, 3),
        (["obama2.jpg", "biden.jpg", "biden.jpg"], 2, Decision.NO_MATCH, 1, 3),
        (["obama2.jpg", "obama2.jpg", "biden.jpg"], 3, Decision.NO_MATCH, 1, 2),
        (["biden.jpg", "obama2.jpg", "biden.jpg"], 2, Decision.NO_MATCH, 0, 2),
        (["obama2.jpg", "alex-lacamoire.png", "obama2.jpg"], 1, Decision.MATCH, 1, 1),
    ],
)
def test_k_of_n_frames_must_agree(
    card_reference, canvas_frames, sequence, k, decision, matched, compared
):
    settings = FaceSettings(
        required_matches=k, compared_frames=3, liveness=LivenessSettings(enabled=False)
    )
    result = DlibFaceVerifier(settings).verify(
        card_reference, [canvas_frames[name] for name in sequence]
    )

    assert result.decision is decision
    assert (result.matched_frames, result.compared_frames, result.required_frames) == (
        matched,
        compared,
        k,
    )


def test_a_face_that_changes_place_resets_the_evidence(
    verifier_without_liveness, card_reference, images
):
    """Impostor frames first, then the holder elsewhere: only the new face counts."""
    frames = [images["biden.jpg"]] * 2 + [images["obama2.jpg"]] * 3
    result = verifier_without_liveness.verify(card_reference, frames)
    assert result.decision is Decision.MATCH
    assert result.matched_frames == 2 and result.compared_frames == 2  # obama2 frames only


def test_threshold_is_configurable(card_reference, images):
    """obama2 is at about 0.35 from the card photo: a 0.30 deployment refuses it."""
    strict = DlibFaceVerifier(
        FaceSettings(threshold=0.30, liveness=LivenessSettings(enabled=False))
    )
    result = strict.verify(card_reference, [images["obama2.jpg"]] * 3)
    assert result.decision is Decision.NO_MATCH
    assert 0.30 < result.distance < 0.40


def test_card_photo_without_a_face_is_refused_at_enrolment(verifier, images):
    with pytest.raises(CardDataInvalid) as caught:
        verifier.enrol(images["obama2.jpg"][700:, :])
    assert caught.value.key == "face.card_photo"


def test_frame_the_library_cannot_take_is_an_error_result(verifier, card_reference):
    result = verifier.verify(card_reference, [np.zeros((48, 64, 3), np.float32)])
    assert result.decision is Decision.ERROR
    assert "uint8" in result.detail


def test_cleared_reference_cannot_be_used(verifier, images, blink_frames):
    reference = verifier.enrol(images["obama.jpg"])
    reference.clear()
    assert reference.cleared
    result = verifier.verify(reference, blink_frames)
    assert result.decision is Decision.ERROR


def test_reference_never_shows_or_serialises_its_encoding(card_reference):
    assert repr(card_reference) == "FaceReference(<encoding withheld>)"
    with pytest.raises(TypeError):
        pickle.dumps(card_reference)
    with pytest.raises(TypeError):
        copy.deepcopy(card_reference)
    assert isinstance(card_reference, FaceReference)


def test_result_event_carries_numbers_only(verifier, card_reference, blink_frames):
    event = verifier.verify(card_reference, blink_frames).to_event()
    assert set(event) == {"decision", "distance", "liveness", "elapsed_ms"}
    assert event["decision"] == "match" and event["liveness"] == "passed"
