"""The blink rule on eye measurements, and on landmarks of real frames."""

from __future__ import annotations

from devices.face.analysis import FaceAnalyser
from devices.face.liveness import EyeSample, blinked, eye_aspect_ratio
from devices.face.settings import LivenessSettings

RULE = LivenessSettings()


def samples(*ears: float, shape: float = 1.6) -> list[EyeSample]:
    return [EyeSample(ear=e, shape=shape) for e in ears]


def test_eye_aspect_ratio_of_open_and_shut_eyes():
    open_eye = [(0, 5), (3, 2), (7, 2), (10, 5), (7, 8), (3, 8)]
    shut_eye = [(0, 5), (3, 5), (7, 5), (10, 5), (7, 6), (3, 6)]
    assert eye_aspect_ratio(open_eye) == 0.6
    assert eye_aspect_ratio(shut_eye) == 0.1


def test_open_closed_open_is_a_blink():
    assert blinked(samples(0.30, 0.31, 0.15, 0.30), RULE)


def test_flat_eyes_are_not_a_blink():
    assert not blinked(samples(*[0.30] * 20), RULE)


def test_eyes_that_never_reopen_are_not_a_blink():
    assert not blinked(samples(0.30, 0.30, 0.12, 0.12, 0.12), RULE)


def test_a_shallow_dip_is_landmark_noise_not_a_blink():
    assert not blinked(samples(0.30, 0.30, 0.25, 0.30), RULE)


def test_a_dip_while_the_whole_face_squashes_is_a_tilted_photo():
    tilted = [*samples(0.30, 0.30), *samples(0.18, shape=1.2), *samples(0.30, 0.30)]
    steady = [*samples(0.30, 0.30), *samples(0.18, shape=1.58), *samples(0.30, 0.30)]
    assert not blinked(tilted, RULE)
    assert blinked(steady, RULE)


def test_longer_closure_can_be_required():
    rule = LivenessSettings(min_closed_frames=2)
    assert not blinked(samples(0.30, 0.15, 0.30), rule)
    assert blinked(samples(0.30, 0.15, 0.14, 0.30), rule)


def test_synthesised_blink_is_seen_by_dlib(blink_frames):
    """The closed frames of the fixture really read as closed through dlib's landmarks."""
    analyser = FaceAnalyser()
    ears = [EyeSample.of(analyser.find_face(frame)).ear for frame in blink_frames]
    assert min(ears[4:6]) < RULE.closed_ratio * max(ears)
    assert min(ears[:3] + ears[-3:]) > RULE.open_ratio * max(ears)
