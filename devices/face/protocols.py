"""The two small interfaces the kiosk programs against.

Kept free of cv2/dlib imports so that ``kiosk/`` can type against them
without loading a vendor library.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Protocol, TypeAlias

import numpy as np
import numpy.typing as npt

from devices.health import DeviceHealth

if TYPE_CHECKING:
    from devices.face.reference import FaceReference
    from devices.face.result import VerificationResult

Frame: TypeAlias = npt.NDArray[np.uint8]
"""One picture: height x width x 3, RGB, uint8 (what dlib expects; cameras give BGR
and the sources convert)."""


class FrameSource(Protocol):
    """A camera, real or simulated. Opened by the factory, closed by its owner."""

    def read(self) -> Frame:
        """The next frame. Raises CameraError (or DeviceUnavailable when gone)."""
        ...

    def close(self) -> None:
        """Release the device; safe to call twice."""
        ...

    def health(self) -> DeviceHealth:
        """Quick, never raises (devices.health.HealthProbe)."""
        ...


class FaceVerifier(Protocol):
    """Compares live frames with the card photo and checks liveness."""

    def enrol(self, card_photo: Frame) -> FaceReference:
        """Encode the card photo once per citizen session (kept in memory only).

        Raises devices.errors.CardDataInvalid when the photo holds no usable face:
        a defect of the card's data, the same on every attempt.
        """
        ...

    def verify(self, reference: FaceReference, frames: Iterable[Frame]) -> VerificationResult:
        """Consume frames until decided (or the configured frame budget) and decide.

        Never raises for a face that does not match, is missing or is not alive.
        """
        ...


def frames_of(source: FrameSource, limit: int | None = None) -> Iterator[Frame]:
    """Frames read from ``source`` on demand (at most ``limit``), for ``verify``.

    Lazy on purpose: the verifier stops reading once it has decided, so an
    attempt takes as long as it needs and no longer.
    """
    count = 0
    while limit is None or count < limit:
        yield source.read()
        count += 1
