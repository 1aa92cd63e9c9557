"""The kiosk's devices, made once from the settings: the one place that picks real or simulated.

Screens never hold a driver; the app asks ``Hardware``. The face verifier
loads dlib's models (about a second) in the background at start, so the
attract screen does not wait for it.
"""

from __future__ import annotations

import io
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from devices.card import CardReader, CardReaderConfig, make_card_reader
from devices.errors import CardDataInvalid
from devices.face import (
    CameraSettings,
    FaceVerifier,
    FrameSource,
    make_face_verifier,
    open_frame_source,
)
from devices.face.settings import FaceSettings
from devices.printer import Printer, printer_from_config
from kiosk.settings import KioskAppSettings
from kiosk.sim_camera import SimFaceCamera

logger = logging.getLogger(__name__)


@dataclass
class Hardware:
    card_reader: CardReader
    camera: FrameSource
    printer: Printer
    face_settings: FaceSettings = field(default_factory=FaceSettings)
    _verifier: FaceVerifier | None = None
    _ready: threading.Event = field(default_factory=threading.Event)
    _error: Exception | None = None

    @classmethod
    def from_settings(cls, settings: KioskAppSettings) -> Hardware:
        if settings.card_issuer_key:
            # The old symmetric master key let its holder make any card's answer: it must not
            # stay on a kiosk's disk now that the kiosk needs only the public key.
            logger.warning(
                "KIOSK_CARD_ISSUER_KEY is obsolete and is a secret: remove it from the kiosk; "
                "cards are checked with KIOSK_CARD_ISSUER_PUBLIC_KEY"
            )
        reader = make_card_reader(
            CardReaderConfig(
                backend=settings.card_reader,  # type: ignore[arg-type]
                issuer_public_key_hex=settings.card_issuer_public_key,
                reader_name=settings.card_reader_name,
            )
        )
        if settings.camera == "sim":
            camera: FrameSource = SimFaceCamera()
        else:
            camera = open_frame_source(CameraSettings.from_config(settings.camera))
        printer = printer_from_config(settings.printer)
        return cls(card_reader=reader, camera=camera, printer=printer)

    @property
    def sim_camera(self) -> SimFaceCamera | None:
        return self.camera if isinstance(self.camera, SimFaceCamera) else None

    def start(self) -> None:
        self.card_reader.start()
        threading.Thread(target=self._load_verifier, name="face-models", daemon=True).start()

    def _load_verifier(self) -> None:
        try:
            self._verifier = make_face_verifier(self.face_settings)
            # A first enrolment warms dlib up, so the first citizen does not pay for it.
            from devices.card.demo import demo_photo

            self._verifier.enrol(photo_rgb(demo_photo())).clear()
            if self.sim_camera is not None:
                self.sim_camera.prepare()
        except Exception as err:
            logger.exception("face verifier failed to load")
            self._error = err
        finally:
            self._ready.set()

    def verifier(self, timeout: float = 30.0) -> FaceVerifier:
        if not self._ready.wait(timeout) or self._verifier is None:
            raise RuntimeError(f"face verifier unavailable: {self._error}")
        return self._verifier

    def probes(self) -> dict[str, Any]:
        return {"card_reader": self.card_reader, "camera": self.camera, "printer": self.printer}

    def stop(self) -> None:
        self.card_reader.stop()
        self.camera.close()


def photo_rgb(jpeg: bytes) -> np.ndarray:
    """The card's JPEG photo as an RGB frame, in memory."""
    try:
        with Image.open(io.BytesIO(jpeg)) as image:
            return np.ascontiguousarray(np.asarray(image.convert("RGB")))
    except OSError as err:
        raise CardDataInvalid(f"card photo unreadable: {err}") from err
