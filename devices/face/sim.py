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
