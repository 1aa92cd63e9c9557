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

from devices.face.analysis import FaceAnalyser, FaceObservation
from devices.face.reference import FaceReference
from devices.face.settings import FaceSettings, LivenessSettings
from devices.face.verifier import DlibFaceVerifier

FACES = Path(__file__).resolve().parents[3].parent / "shared" / "testdata" / "faces"
CANVAS = (480, 640)  # height, width: a kiosk camera's frame


def load_rgb(name: str) -> np.ndarray:
    bgr = cv2.imread(str(FACES / name), cv2.IMREAD_COLOR)
    assert bgr is not None, f"missing test image {FACES / name}"
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def close_eyes(frame: np.ndarray, face: FaceObservation, closure: float) -> np.ndarray:
    """The frame with both upper eyelids lowered by ``closure`` (0 open, 1 shut).

    Honest synthesis of a blink: the skin between brow and eye is stretched down
    over the eye (what a closing lid does), using the eye landmarks dlib found in
    the open-eyed frame; the verifier then has to see the closure through its own
    landmark detection on the new frame.
    """
    out = frame.copy()
    for key in ("left_eye", "right_eye"):
        p = np.array(face.landmarks[key], dtype=np.float32)
        x0, x1 = p[:, 0].min(), p[:, 0].max()
        top, bottom = min(p[1, 1], p[2, 1]), max(p[4, 1], p[5, 1])
        eye_w, eye_h = x1 - x0, max(bottom - top, 2.0)
        pad_x = 0.35 * eye_w
        lid_top = top - 0.8 * eye_h
        edge = top + closure * (bottom - top + 0.25 * eye_h)
        ys = np.arange(int(lid_top), int(np.ceil(edge)) + 1)
        xs = np.arange(int(x0 - pad_x), int(x1 + pad_x) + 1)
        gx, gy = np.meshgrid(xs.astype(np.float32), ys.astype(np.float32))
        src_y = lid_top + (gy - lid_top) * (top - lid_top) / (edge - lid_top)
        lid = cv2.remap(frame, gx, src_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        # Feathered at the eye corners so that no seam shows on the cheek.
        weight = np.clip((eye_w / 2 + pad_x - np.abs(gx - (x0 + x1) / 2)) / pad_x, 0, 1)[..., None]
        region = out[ys[0] : ys[-1] + 1, xs[0] : xs[-1] + 1].astype(np.float32)
        blended = weight * lid.astype(np.float32) + (1 - weight) * region
        out[ys[0] : ys[-1] + 1, xs[0] : xs[-1] + 1] = blended.astype(np.uint8)
    return out


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
