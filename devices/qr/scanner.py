"""Decode QR codes in camera frames with OpenCV's detector (no extra native library)."""

from __future__ import annotations

import time
from collections.abc import Callable

import cv2
import numpy as np

from devices.errors import CameraError, DeviceUnavailable
from devices.face.protocols import Frame, FrameSource

_detectors: list[cv2.QRCodeDetector] = []


def _all_detectors() -> list[cv2.QRCodeDetector]:
    """OpenCV's classic detector first, then its ArUco-based one: the classic one misses
    about 1 code in 100 that it sees sharp and whole (a technician's enrolment code among
    them), and the ArUco one reads those."""
    if not _detectors:
        _detectors.append(cv2.QRCodeDetector())
        if hasattr(cv2, "QRCodeDetectorAruco"):
            _detectors.append(cv2.QRCodeDetectorAruco())
    return _detectors


def decode(frame: Frame) -> str | None:
    """The text of a QR code in ``frame`` (RGB or grey), or None when there is none."""
    image = np.ascontiguousarray(frame)
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    for detector in _all_detectors():
        try:
            text, points, _ = detector.detectAndDecode(image)
        except cv2.error:
            continue
        if points is not None and text:
            return text
    return None


def scan(
    source: FrameSource,
    *,
    accept: Callable[[str], bool] = lambda text: True,
    timeout_s: float = 60.0,
) -> str:
    """Read frames until a QR code whose text ``accept`` takes; TimeoutError after ``timeout_s``.

    Camera errors on single frames are tolerated (a USB camera drops frames);
    a camera that is gone raises DeviceUnavailable at once.
    """
    deadline = time.monotonic() + timeout_s
    seen: set[str] = set()
    while time.monotonic() < deadline:
        try:
            frame = source.read()
        except DeviceUnavailable:
            raise
        except CameraError:
            continue
        text = decode(frame)
        if text is not None and accept(text):
            return text
        if text is not None:
            seen.add(text)
    detail = f" (saw {len(seen)} other QR code(s))" if seen else ""
    raise TimeoutError(f"no matching QR code within {timeout_s:.0f} s{detail}")
