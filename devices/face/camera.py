"""A real camera through OpenCV (V4L2 on the kiosk's Debian).

OpenCV reports most failures by return value (``isOpened() == False``,
``read() -> (False, None)``) and some by ``cv2.error``; both become
``devices.errors`` here. Availability is logged once when lost and once when
back, not on every failed frame.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import cv2
import numpy as np

from devices.errors import CameraError, DeviceUnavailable
from devices.face.protocols import Frame
from devices.health import DeviceHealth

logger = logging.getLogger(__name__)

FAULT_AFTER = 3
"""Consecutive failed reads before health says fault rather than degraded."""


class OpenCVCamera:
    """``device``: an index (0 is /dev/video0), a device path or a stream URL."""

    def __init__(self, device: int | str = 0, *, width: int = 640, height: int = 480) -> None:
        self._device = device
        self._width = width
        self._height = height
        self._capture: cv2.VideoCapture | None = None
        self._failures = 0
        self._last_error: str | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OpenCVCamera(device={self._device!r})"

    def __enter__(self) -> OpenCVCamera:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def _node(self) -> Path | None:
        """The device file this camera should have, when it has one."""
        if isinstance(self._device, int):
            return Path(f"/dev/video{self._device}")
        if "://" in self._device:
            return None
        return Path(self._device)

    def open(self) -> None:
        """Open the device. Raises DeviceUnavailable when absent or refused."""
        with self._lock:
            if self._capture is not None:
                return
            try:
                capture = cv2.VideoCapture(self._device)
                opened = capture.isOpened()
            except cv2.error as err:
                self._last_error = f"open failed: {err}"
                raise DeviceUnavailable(f"camera {self._device!r}: {err}") from err
            if not opened:
                capture.release()
                self._last_error = "could not be opened"
                raise DeviceUnavailable(f"camera {self._device!r} could not be opened")
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, self._width)
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self._height)
            self._capture = capture
            self._failures = 0
            self._last_error = None
            logger.info("camera %r opened", self._device)

    def read(self) -> Frame:
        """The next frame as RGB. Raises CameraError, DeviceUnavailable if not open."""
        with self._lock:
            if self._capture is None:
                raise DeviceUnavailable(f"camera {self._device!r} is not open")
            try:
                ok, bgr = self._capture.read()
            except cv2.error as err:
                self._failed(f"read failed: {err}")
                raise CameraError(f"camera {self._device!r}: {err}") from err
            if not ok or bgr is None or bgr.ndim != 3:
                self._failed("no frame")
                raise CameraError(f"camera {self._device!r} returned no frame")
            if self._failures:
                logger.info("camera %r delivers frames again", self._device)
            self._failures = 0
            self._last_error = None
            return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))

    def _failed(self, reason: str) -> None:
        if self._failures == 0:
            logger.warning("camera %r lost: %s", self._device, reason)
        self._failures += 1
        self._last_error = reason

    def close(self) -> None:
        with self._lock:
            if self._capture is not None:
                self._capture.release()
                self._capture = None
                logger.info("camera %r closed", self._device)

    def health(self) -> DeviceHealth:
        """From state already known (no I/O beyond a stat of the device node)."""
        try:
            node = self._node
            if self._capture is None:
                if node is not None and not node.exists():
                    return DeviceHealth("absent", f"{node} not present")
                return DeviceHealth("unknown", self._last_error or "not open")
            if self._failures >= FAULT_AFTER:
                return DeviceHealth("fault", self._last_error)
            if self._failures:
                return DeviceHealth("degraded", self._last_error)
            return DeviceHealth("ok")
        except Exception as err:  # a health probe never raises
            return DeviceHealth("unknown", f"health check failed: {err}")
