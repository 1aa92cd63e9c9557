"""Fixtures for the face tests: the real library on the real images of shared/.

Everything slow (loading models, detecting, encoding the card photo) happens
once per session; the images are those of shared/testdata/faces (see its
README), found beside the repository as CI clones it.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from devices.face import sim
from devices.face.analysis import FaceAnalyser, FaceObservation
from devices.face.reference import FaceReference
from devices.face.settings import FaceSettings, LivenessSettings
from devices.face.verifier import DlibFaceVerifier

FACES = Path(__file__).resolve().parents[2] / "data" / "faces"  # tests/data/faces (README)
CANVAS = (480, 640)  # height, width: a kiosk camera's frame


def load_rgb(name: str) -> np.ndarray:
    bgr = cv2.imread(str(FACES / name), cv2.IMREAD_COLOR)
    assert bgr is not None, f"missing test image {FACES / name}"
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def close_eyes(frame: np.ndarray, face: FaceObservation, closure: float) -> np.ndarray:
    """The frame with both upper eyelids lowered by ``closure``: the simulator's own synthesis."""
    return sim.close_eyes(frame, face.landmarks, closure)


def on_canvas(image: np.ndarray, face: FaceObservation) -> np.ndarray:
    """The face, with a margin, scaled into the same place of a 640 x 480 frame.

    Different people then stand where one person stood, as if frames of one
    camera, so the verifier's face-continuity rule does not reset between them.
    """
    top, right, bottom, left = face.box
    size = max(bottom - top, right - left)
    cy, cx = (top + bottom) // 2, (left + right) // 2
    half = size  # twice the face box: forehead, chin and shoulders in view
    padded = cv2.copyMakeBorder(image, half, half, half, half, cv2.BORDER_REPLICATE)
    crop = padded[cy : cy + 2 * half, cx : cx + 2 * half]
    side = 360
    canvas = np.full((*CANVAS, 3), 128, np.uint8)
    y0, x0 = (CANVAS[0] - side) // 2, (CANVAS[1] - side) // 2
    canvas[y0 : y0 + side, x0 : x0 + side] = cv2.resize(crop, (side, side), cv2.INTER_AREA)
    return canvas


@pytest.fixture(scope="session")
def images() -> dict[str, np.ndarray]:
    names = ("obama.jpg", "obama2.jpg", "biden.jpg", "alex-lacamoire.png")
    return {name: load_rgb(name) for name in names}


@pytest.fixture(scope="session")
def verifier() -> DlibFaceVerifier:
    """The product's defaults: threshold 0.40, 2 of 3 frames, blink liveness."""
    return DlibFaceVerifier(FaceSettings())


@pytest.fixture(scope="session")
def verifier_without_liveness() -> DlibFaceVerifier:
    return DlibFaceVerifier(FaceSettings(liveness=LivenessSettings(enabled=False)))


@pytest.fixture(scope="session")
def card_reference(verifier: DlibFaceVerifier, images: dict[str, np.ndarray]) -> FaceReference:
    """obama.jpg enrolled as the card photo, once."""
    return verifier.enrol(images["obama.jpg"])


@pytest.fixture(scope="session")
def faces(images: dict[str, np.ndarray]) -> dict[str, FaceObservation]:
    analyser = FaceAnalyser()
    found = {name: analyser.find_face(image) for name, image in images.items()}
    assert all(found.values()), found
    return found  # type: ignore[return-value]


@pytest.fixture(scope="session")
def blink_frames(images: dict[str, np.ndarray], faces: dict[str, FaceObservation]) -> list:
    """obama2.jpg as a 10-frame capture: open, closing, shut, opening, open."""
    live = images["obama2.jpg"]
    closures = (0, 0, 0, 0.5, 1.0, 1.0, 0.5, 0, 0, 0)
    return [close_eyes(live, faces["obama2.jpg"], c) if c else live.copy() for c in closures]


@pytest.fixture(scope="session")
def canvas_frames(
    images: dict[str, np.ndarray], faces: dict[str, FaceObservation]
) -> dict[str, np.ndarray]:
    return {name: on_canvas(images[name], faces[name]) for name in images}
