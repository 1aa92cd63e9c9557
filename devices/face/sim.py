"""The ``--sim`` cameras: frames from a folder of images or from a video file.

A product feature, not a test double: demos, training and a technician's laptop
run the real verifier on these frames. Both replay at a set rate (``fps``; None
means as fast as they are read) and loop by default, like a camera that never
runs out; with ``loop=False`` the end is a CameraError, as a dead camera would be.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import cv2
import numpy as np

from devices.errors import CameraError, DeviceUnavailable
from devices.face.protocols import Frame
from devices.health import DeviceHealth

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})


class _Pacer:
    """Sleeps so that frames come no faster than ``fps``, as from a camera."""

    def __init__(self, fps: float | None) -> None:
        if fps is not None and fps <= 0:
            raise ValueError("fps must be positive")
        self._interval = None if fps is None else 1.0 / fps
        self._next = time.monotonic()

    def wait(self) -> None:
        if self._interval is None:
            return
        now = time.monotonic()
        if self._next > now:
            time.sleep(self._next - now)
        self._next = max(self._next, now) + self._interval


def _to_rgb(bgr: np.ndarray, origin: str) -> Frame:
    if bgr is None or bgr.ndim != 3:
        raise CameraError(f"{origin}: not a colour image")
    return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


class ImageFolderSource:
    """Each image of a folder, in name order, as one frame."""

    def __init__(self, folder: Path | str, *, fps: float | None = None, loop: bool = True) -> None:
        self._folder = Path(folder)
        if not self._folder.is_dir():
            raise DeviceUnavailable(f"simulator folder {self._folder} does not exist")
        self._files = sorted(
            p for p in self._folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES
        )
        if not self._files:
            raise DeviceUnavailable(f"simulator folder {self._folder} holds no images")
        self._loop = loop
        self._pacer = _Pacer(fps)
        self._index = 0
        self._closed = False

    def __repr__(self) -> str:
        return f"ImageFolderSource({str(self._folder)!r}, {len(self._files)} images)"

    def __len__(self) -> int:
        return len(self._files)

    def read(self) -> Frame:
        if self._closed:
            raise DeviceUnavailable("simulator folder source is closed")
        if self._index >= len(self._files):
            if not self._loop:
                raise CameraError(f"simulator folder {self._folder}: no more images")
            self._index = 0
        path = self._files[self._index]
        self._index += 1
        self._pacer.wait()
        try:
            bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        except cv2.error as err:
            raise CameraError(f"{path.name}: {err}") from err
        if bgr is None:
            raise CameraError(f"{path.name}: unreadable image")
        return _to_rgb(bgr, path.name)

    def close(self) -> None:
        self._closed = True

    def health(self) -> DeviceHealth:
        if self._closed:
            return DeviceHealth("unknown", "closed")
        if not self._folder.is_dir():
            return DeviceHealth("absent", f"{self._folder} is gone")
        return DeviceHealth("ok", f"simulator: {len(self._files)} images")


class VideoFileSource:
    """The frames of a video file (any format OpenCV's bundled FFmpeg reads)."""

    def __init__(self, path: Path | str, *, fps: float | None = None, loop: bool = True) -> None:
        self._path = Path(path)
        if not self._path.is_file():
            raise DeviceUnavailable(f"simulator video {self._path} does not exist")
        try:
            self._capture: cv2.VideoCapture | None = cv2.VideoCapture(str(self._path))
        except cv2.error as err:
            raise DeviceUnavailable(f"simulator video {self._path}: {err}") from err
        if not self._capture.isOpened():
            self._capture.release()
            raise DeviceUnavailable(f"simulator video {self._path} cannot be decoded")
        self._loop = loop
        self._pacer = _Pacer(fps)

    def __repr__(self) -> str:
        return f"VideoFileSource({str(self._path)!r})"

    def read(self) -> Frame:
        if self._capture is None:
            raise DeviceUnavailable("simulator video source is closed")
        self._pacer.wait()
        try:
            ok, bgr = self._capture.read()
            if not ok and self._loop:
                self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
                ok, bgr = self._capture.read()
        except cv2.error as err:
            raise CameraError(f"{self._path.name}: {err}") from err
        if not ok:
            raise CameraError(f"simulator video {self._path.name}: no more frames")
        return _to_rgb(bgr, self._path.name)

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None

    def health(self) -> DeviceHealth:
        if self._capture is None:
            return DeviceHealth("unknown", "closed")
        return DeviceHealth("ok", "simulator: video file")


# -- still images as camera frames: the diagnostics, the self-test and the benchmark ----


def read_image(path: Path | str) -> Frame:
    """An image file as an RGB frame. Raises CameraError when missing or unreadable."""
    path = Path(path)
    if not path.is_file():
        raise CameraError(f"{path}: no such image file")
    try:
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    except cv2.error as err:
        raise CameraError(f"{path}: {err}") from err
    if bgr is None:
        raise CameraError(f"{path}: not an image OpenCV can read")
    return _to_rgb(bgr, path.name)


def place_in_frame(
    image: Frame,
    box: tuple[int, int, int, int],
    *,
    size: tuple[int, int] = (640, 480),
    face_side: int = 180,
) -> Frame:
    """``image`` scaled and shifted so that the face in ``box`` (top, right, bottom,
    left) is ``face_side`` pixels high in the middle of a ``size`` (width, height)
    frame: a portrait turned into what a kiosk camera sees of a citizen."""
    top, right, bottom, left = box
    scale = face_side / max(1, max(bottom - top, right - left))
    cy, cx = (top + bottom) / 2 * scale, (left + right) / 2 * scale
    width, height = size
    matrix = np.float32([[scale, 0, width / 2 - cx], [0, scale, height / 2 - cy]])
    return np.ascontiguousarray(
        cv2.warpAffine(
            image, matrix, (width, height), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE
        )
    )


BLINK_CLOSURES = (0.0, 0.0, 0.0, 0.5, 1.0, 1.0, 0.5, 0.0, 0.0, 0.0)
"""A blink at 15 frames per second: open, closing, shut, opening, open."""


def close_eyes(frame: Frame, landmarks: dict[str, list[tuple[int, int]]], closure: float) -> Frame:
    """``frame`` with both upper eyelids lowered by ``closure`` (0 open, 1 shut).

    The skin between brow and eye is stretched down over the eye, as a closing
    lid does, from the eye landmarks found in the open-eyed frame; the verifier
    then has to see the closure through its own landmark detection. This is how
    the self-test and the benchmark exercise the whole liveness path without a
    person in front of the camera.
    """
    out = frame.copy()
    for key in ("left_eye", "right_eye"):
        p = np.array(landmarks[key], dtype=np.float32)
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


def blink_sequence(
    portrait: Frame, *, size: tuple[int, int] = (640, 480), face_side: int = 220
) -> list[Frame]:
    """A portrait as a ``size`` camera capture of that person blinking (BLINK_CLOSURES).

    The eyelids are drawn on the full-size portrait, where the eyes have the
    most pixels, then each frame is placed in the camera frame with the face
    ``face_side`` pixels high. Raises CameraError when the portrait holds no face.
    """
    from devices.face.analysis import FaceAnalyser

    face = FaceAnalyser(detect_max_side=max(portrait.shape[:2])).find_face(portrait)
    if face is None:
        raise CameraError("no face in the portrait to animate")
    return [
        place_in_frame(
            close_eyes(portrait, face.landmarks, c) if c else portrait,
            face.box,
            size=size,
            face_side=face_side,
        )
        for c in BLINK_CLOSURES
    ]
