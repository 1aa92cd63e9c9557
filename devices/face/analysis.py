"""Find, outline and encode a face: the thin layer over face_recognition/dlib.

Detection (dlib's HOG detector) is the slow step and its cost grows with the
pixel count, so it runs on a copy shrunk to ``detect_max_side``; the box is
then scaled back and landmarks and the 128-number encoding are computed on the
full-size frame, where the detail that tells faces apart still is.

Once a face is known, ``detect_near`` looks again only in a region around its
box, scaled so that a face of that size is ``TRACK_FACE_PX`` pixels: about
5 ms instead of 50 ms for the whole frame. The box that landmarks start from
always comes from this normalised region (``refine`` for a whole-frame
detection), so every frame's eye measurements rest on boxes of one detector at
one scale: a whole-frame box and a region box of the same still face differ by
a few per cent, enough to look like an eye closing.
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


TRACK_FACE_PX = 100
"""Side a known face is scaled to in ``detect_near``: above the detector's 80 px
window with room to shrink by a fifth (a step back) before it is lost."""
TRACK_MARGIN = 0.5
"""``detect_near`` looks this much of the face's side beyond its box on every side
(a region twice the face's size): the detector's context plus a frame's movement."""


def box_area(box: Box) -> int:
    top, right, bottom, left = box
    return max(0, bottom - top) * max(0, right - left)


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes: 1 the same box, 0 apart."""
    top, right = max(a[0], b[0]), min(a[1], b[1])
    bottom, left = min(a[2], b[2]), max(a[3], b[3])
    inter = max(0, bottom - top) * max(0, right - left)
    union = box_area(a) + box_area(b) - inter
    return inter / union if union > 0 else 0.0


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

    def detect_near(self, frame: Frame, box: Box) -> list[Box]:
        """The faces dlib finds around ``box``, as full-frame boxes, the largest first.

        Only the region ``TRACK_MARGIN`` beyond the box is searched (a view, not a
        copy), scaled so that a face of the box's size is ``TRACK_FACE_PX``, without
        upsampling: faces much smaller than the box's are not looked for.
        """
        check_frame(frame)
        height, width = frame.shape[:2]
        top, right, bottom, left = box
        side = max(bottom - top, right - left)
        if side <= 0:
            return []
        margin = round(TRACK_MARGIN * side)
        y0, y1 = max(0, top - margin), min(height, bottom + margin)
        x0, x1 = max(0, left - margin), min(width, right + margin)
        if y1 - y0 < side // 2 or x1 - x0 < side // 2:
            return []  # the box lies (mostly) outside this frame
        scale = TRACK_FACE_PX / side
        size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
        interpolation = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
        region = cv2.resize(frame[y0:y1, x0:x1], size, interpolation=interpolation)
        boxes = [
            (
                max(0, y0 + round(t / scale)),
                min(width, x0 + round(r / scale)),
                min(height, y0 + round(b / scale)),
                max(0, x0 + round(lf / scale)),
            )
            for t, r, b, lf in face_recognition.face_locations(
                region, number_of_times_to_upsample=0
            )
        ]
        return sorted(boxes, key=box_area, reverse=True)

    def refine(self, frame: Frame, box: Box) -> Box:
        """The box of this face as ``detect_near`` sees it (``box`` if it does not)."""
        near = self.detect_near(frame, box)
        best = max(near, key=lambda candidate: iou(candidate, box), default=None)
        return best if best is not None and iou(best, box) >= 0.5 else box

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
        """dlib's 128-number face descriptor for this face.

        The known box is passed, so nothing is detected again; the 5-point
        alignment model runs on it (1 ms). The 68 landmarks of the blink check are
        not reused: dlib aligns 68 points differently, and on our test images that
        moved the distance by about 0.1, as much as the threshold's margin.
        """
        encodings = face_recognition.face_encodings(frame, [face.box])
        return np.asarray(encodings[0], dtype=np.float64)


def face_distance(reference: npt.NDArray[np.float64], probe: npt.NDArray[np.float64]) -> float:
    """Euclidean distance of two descriptors: dlib's measure, 0 identical, 0.6 its own cut."""
    return float(np.linalg.norm(reference - probe))
