"""Find, outline and encode a face: the thin layer over face_recognition/dlib.

Detection (dlib's HOG detector) is the slow step and its cost grows with the
pixel count, so it runs on a copy shrunk to ``detect_max_side``; the box is
then scaled back and landmarks and the 128-number encoding are computed on the
full-size frame, where the detail that tells faces apart still is.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

with warnings.catch_warnings():
    # face_recognition_models locates its files through the deprecated pkg_resources.
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
    import face_recognition

from devices.face.protocols import Frame

logger = logging.getLogger(__name__)

Box = tuple[int, int, int, int]
"""top, right, bottom, left, in full-frame pixels (face_recognition's order)."""
Point = tuple[int, int]


def box_area(box: Box) -> int:
    top, right, bottom, left = box
    return max(0, bottom - top) * max(0, right - left)


@dataclass(frozen=True, repr=False)
class FaceObservation:
    """One face in one frame. Landmarks are biometric too: the repr omits them."""

    box: Box
    landmarks: dict[str, list[Point]]

    @property
    def area(self) -> int:
        return box_area(self.box)

    def __repr__(self) -> str:
        return f"FaceObservation(box={self.box})"


def check_frame(frame: Frame) -> None:
    """dlib accepts only 8-bit RGB (or grey); say so before it fails obscurely."""
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8:
        raise ValueError("frame must be a uint8 numpy array")
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"frame must be height x width x 3 (RGB), got shape {frame.shape}")


class FaceAnalyser:
    def __init__(self, *, detect_max_side: int = 320, upsample: int = 1) -> None:
        self._detect_max_side = detect_max_side
        self._upsample = upsample

    def detect(self, frame: Frame, *, upsample: int | None = None) -> list[Box]:
        """Every face dlib finds, as full-frame boxes, the largest first."""
        check_frame(frame)
        height, width = frame.shape[:2]
        scale = min(1.0, self._detect_max_side / max(height, width))
        small = frame
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            small = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        times = self._upsample if upsample is None else upsample
        boxes = [
            (
                max(0, round(top / scale)),
                min(width, round(right / scale)),
                min(height, round(bottom / scale)),
                max(0, round(left / scale)),
            )
            for top, right, bottom, left in face_recognition.face_locations(
                small, number_of_times_to_upsample=times
            )
        ]
        return sorted(boxes, key=box_area, reverse=True)

    def observe(self, frame: Frame, box: Box) -> FaceObservation | None:
        """The 68 landmarks of the face in ``box`` (found on the full-size frame)."""
        marks = face_recognition.face_landmarks(frame, [box], model="large")
        if not marks:
            return None
        return FaceObservation(box=box, landmarks=marks[0])

    def find_face(self, frame: Frame, *, upsample: int | None = None) -> FaceObservation | None:
        """The largest face (the person at the kiosk, not someone behind), or None."""
        boxes = self.detect(frame, upsample=upsample)
        return self.observe(frame, boxes[0]) if boxes else None

    def encode(self, frame: Frame, face: FaceObservation) -> npt.NDArray[np.float64]:
        """dlib's 128-number face descriptor for this face."""
        encodings = face_recognition.face_encodings(frame, [face.box])
        return np.asarray(encodings[0], dtype=np.float64)


def face_distance(reference: npt.NDArray[np.float64], probe: npt.NDArray[np.float64]) -> float:
    """Euclidean distance of two descriptors: dlib's measure, 0 identical, 0.6 its own cut."""
    return float(np.linalg.norm(reference - probe))
