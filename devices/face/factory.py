"""Configuration in, driver out: the one place that picks an implementation."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from devices.errors import DeviceUnavailable
from devices.face.settings import CameraSettings, FaceSettings

if TYPE_CHECKING:
    from devices.face.protocols import FrameSource
    from devices.face.verifier import DlibFaceVerifier

logger = logging.getLogger(__name__)


def open_frame_source(settings: CameraSettings) -> FrameSource:
    """Open the configured camera or simulator. Raises DeviceUnavailable."""
    # Imported here so that choosing a simulator never loads a driver it does not use.
    if settings.kind == "opencv":
        from devices.face.camera import OpenCVCamera

        camera = OpenCVCamera(settings.device, width=settings.width, height=settings.height)
        camera.open()
        return camera
    if settings.path is None:
        raise DeviceUnavailable(f"camera kind {settings.kind!r} needs a path")
    if settings.kind == "folder":
        from devices.face.sim import ImageFolderSource

        return ImageFolderSource(settings.path, fps=settings.fps, loop=settings.loop)
    if settings.kind == "video":
        from devices.face.sim import VideoFileSource

        return VideoFileSource(settings.path, fps=settings.fps, loop=settings.loop)
    raise DeviceUnavailable(f"unknown camera kind {settings.kind!r}")


def make_face_verifier(settings: FaceSettings | None = None) -> DlibFaceVerifier:
    """The kiosk's verifier; loads dlib's models (about a second, once per process).

    Liveness cannot be switched off here: the kiosk path always checks it.
    Only the diagnostic ``python -m devices face-verify --skip-liveness`` builds
    a verifier without it (``make_diagnostic_verifier``).
    """
    from devices.face.verifier import DlibFaceVerifier

    settings = settings or FaceSettings()
    if not settings.liveness.enabled:
        raise ValueError("the kiosk's face verifier always checks liveness")
    return DlibFaceVerifier(settings)


def make_diagnostic_verifier(*, skip_liveness: bool = False) -> DlibFaceVerifier:
    """The product's verifier for a technician's diagnostics, optionally without liveness
    (to see the distance of still photos). Never for a citizen's session."""
    from devices.face.settings import LivenessSettings
    from devices.face.verifier import DlibFaceVerifier

    liveness = LivenessSettings(enabled=not skip_liveness)
    return DlibFaceVerifier(FaceSettings(liveness=liveness))
