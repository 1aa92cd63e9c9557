"""QR codes from camera frames: what the enrolment scan relies on."""

from __future__ import annotations

import io

import numpy as np
import pytest
import segno
from PIL import Image

from devices.errors import CameraError, DeviceUnavailable
from devices.health import DeviceHealth
from devices.qr import decode, scan


def qr_frame(text: str, *, size: int = 480) -> np.ndarray:
    """An RGB camera-sized frame with the QR code in the middle of a grey scene."""
    buffer = io.BytesIO()
    # make_qr, not make: make() picks a Micro QR for short texts, which OpenCV does not read
    segno.make_qr(text, error="m").save(buffer, kind="png", scale=6, border=4)
    code = Image.open(buffer).convert("RGB")
    scene = Image.new("RGB", (size * 4 // 3, size), (120, 120, 120))
    scene.paste(code, ((scene.width - code.width) // 2, (scene.height - code.height) // 2))
    return np.asarray(scene, dtype=np.uint8)


class Frames:
    """A FrameSource that plays a list of frames (or errors), then repeats the last."""

    def __init__(self, *frames: np.ndarray | Exception) -> None:
        self.frames = list(frames)
        self.closed = False

    def read(self) -> np.ndarray:
        item = self.frames.pop(0) if len(self.frames) > 1 else self.frames[0]
        if isinstance(item, Exception):
            raise item
        return item

    def close(self) -> None:
        self.closed = True

    def health(self) -> DeviceHealth:
        return DeviceHealth(state="ok")


def test_a_qr_code_in_a_frame_is_decoded_and_a_blank_frame_is_none() -> None:
    assert decode(qr_frame("govkiosk-enrol:?code=K7QM-2XPA-9HDT-RW4C")) == (
        "govkiosk-enrol:?code=K7QM-2XPA-9HDT-RW4C"
    )
    assert decode(np.full((480, 640, 3), 128, dtype=np.uint8)) is None


def test_scan_skips_dropped_frames_and_other_codes() -> None:
    blank = np.full((480, 640, 3), 200, dtype=np.uint8)
    source = Frames(blank, CameraError("dropped frame"), qr_frame("a menu"), qr_frame("WANTED"))
    assert scan(source, accept=lambda text: text == "WANTED", timeout_s=10) == "WANTED"


def test_scan_gives_up_after_its_timeout_and_a_lost_camera_raises_at_once() -> None:
    with pytest.raises(TimeoutError, match="1 other QR"):
        scan(Frames(qr_frame("a menu")), accept=lambda text: False, timeout_s=0.5)
    with pytest.raises(DeviceUnavailable):
        scan(Frames(DeviceUnavailable("unplugged")), timeout_s=5)


def test_every_enrolment_code_is_read() -> None:
    """OpenCV's classic detector alone missed about 1 code in 100 (a technician would have
    stood at the kiosk with a code it never reads); with the ArUco-based one beside it, 400
    random codes as the ops page prints them are all read."""
    import random

    from provisioning.enrolment_qr import payload

    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    rng = random.Random(20261203)
    missed = []
    for _ in range(400):
        raw = "".join(rng.choice(alphabet) for _ in range(16))
        text = payload("-".join(raw[i : i + 4] for i in range(0, 16, 4)), "https://127.0.0.1:36731")
        buffer = io.BytesIO()
        segno.make_qr(text).save(buffer, kind="png", scale=6, border=4)
        frame = np.asarray(Image.open(buffer).convert("RGB"), dtype=np.uint8)
        if decode(frame) != text:
            missed.append(text)
    assert missed == []
