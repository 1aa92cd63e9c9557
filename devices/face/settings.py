"""Configuration for the camera and the verifier, as plain frozen dataclasses.

The kiosk's one Settings object maps its fields onto these; which camera to
use is decided here by ``CameraSettings.kind`` and turned into a driver by
``factory.open_frame_source`` alone (no ``if kind == ...`` elsewhere).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

CameraKind = Literal["opencv", "folder", "video"]

DEFAULT_THRESHOLD = 0.40
"""Stricter than face_recognition's 0.6: see README.md, "Threshold". Impostor
pairs of Chinese faces have been reported at 0.42-0.43, and at 0.6 "almost
everybody" matched; a refused citizen still has the staffed window, a wrongly
accepted one is an identity fraud. Tune per deployment."""

DEFAULT_OTHER_FACE_RATIO = 0.5
"""A second face at least half the citizen's face size (at most about twice as far
from the camera) is someone at the kiosk: a helper or an impostor. Smaller ones are
tolerated (a poster, a queue further back)."""

DEFAULT_FULL_DETECTION_EVERY = 8
"""About half a second at 15 fps between whole-frame searches: see README.md, "Tracking"."""


@dataclass(frozen=True)
class CameraSettings:
    """Where frames come from.

    kind="opencv": a real camera, ``device`` is an index (0 -> /dev/video0), a
    device path or a stream URL. kind="folder" / "video": the ``--sim``
    simulator, ``path`` is a folder of images or a video file, replayed at
    ``fps`` (None: as fast as read) and looped for demos.
    """

    kind: CameraKind = "opencv"
    device: int | str = 0
    path: Path | None = None
    width: int = 640
    height: int = 480
    fps: float | None = None
    loop: bool = True

    @classmethod
    def from_config(cls, config: str) -> CameraSettings:
        """A configuration string (``KIOSK_CAMERA``) as settings.

        ``0`` (an index), ``/dev/video0`` or ``rtsp://...``: a real camera;
        ``folder:PATH`` or ``video:PATH``: the simulator; a bare path to an
        existing folder or file: the simulator too. Raises ValueError.
        """
        text = config.strip()
        kind, sep, rest = text.partition(":")
        if sep and kind in ("folder", "video"):
            if not rest:
                raise ValueError(f"camera config {config!r}: no path")
            return cls(kind=kind, path=Path(rest))  # type: ignore[arg-type]
        if text.isdigit():
            return cls(kind="opencv", device=int(text))
        if not text:
            raise ValueError("camera config is empty")
        path = Path(text)
        if "://" not in text and not text.startswith("/dev/"):
            if path.is_dir():
                return cls(kind="folder", path=path)
            if path.is_file():
                return cls(kind="video", path=path)
            raise ValueError(f"camera config {config!r}: no such folder, file or device")
        return cls(kind="opencv", device=text)


@dataclass(frozen=True)
class LivenessSettings:
    """Blink challenge (liveness.py): open -> closed -> open eyes in one sequence.

    Ratios are relative to the person's own open-eye aspect ratio, not an
    absolute EAR, because open-eye EAR differs between people (narrower eyes
    give lower values) and a fixed 0.2 cut-off would fail some citizens always.
    """

    enabled: bool = True
    closed_ratio: float = 0.75
    open_ratio: float = 0.90
    min_closed_frames: int = 1
    max_geometry_change: float = 0.12


@dataclass(frozen=True)
class FaceSettings:
    """How strictly and how fast to verify.

    threshold: largest face distance accepted as the same person.
    required_matches of compared_frames: k of n frames must be within it.
    max_frames: frame budget of one attempt (about 4 s at 15 fps).
    detect_max_side: frames are shrunk to this longer side for detection only
    (HOG detection is the slow step; encoding uses the full-size face).
    other_face_ratio: another face whose size (square root of its box area) is at
    least this fraction of the largest face's is a second person at the kiosk;
    seen in ``required_matches`` frames it makes the attempt ``multiple_faces``.
    Smaller faces (a poster, people far behind) are tolerated. README.md, "Two faces".
    full_detection_every: after a whole-frame detection found one citizen, the next
    frames are searched only around that face (a tenth of the cost); the whole frame
    is searched again at least every this many frames, whenever the face is lost
    or joined there, after a frame with two people, and on the frame that would
    decide. 1 searches every frame whole. README.md, "Tracking".
    """

    threshold: float = DEFAULT_THRESHOLD
    required_matches: int = 2
    compared_frames: int = 3
    max_frames: int = 60
    detect_max_side: int = 320
    detect_upsample: int = 1
    card_photo_upsample: int = 1
    other_face_ratio: float = DEFAULT_OTHER_FACE_RATIO
    full_detection_every: int = DEFAULT_FULL_DETECTION_EVERY
    liveness: LivenessSettings = field(default_factory=LivenessSettings)

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold < 1.5:
            raise ValueError(f"threshold {self.threshold} outside (0, 1.5)")
        if not 1 <= self.required_matches <= self.compared_frames:
            raise ValueError("need 1 <= required_matches <= compared_frames")
        if self.max_frames < self.compared_frames:
            raise ValueError("max_frames must be at least compared_frames")
        if not 0.0 < self.other_face_ratio <= 1.0:
            raise ValueError(f"other_face_ratio {self.other_face_ratio} outside (0, 1]")
        if self.full_detection_every < 1:
            raise ValueError("full_detection_every must be at least 1")
        if self.detect_max_side < 80:
            raise ValueError("detect_max_side below 80 px cannot hold a detectable face")
