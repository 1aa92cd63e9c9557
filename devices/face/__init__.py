"""Face verification against the card photo, with a liveness check.

The kiosk asks one question here: is the person in front of the camera, alive,
the person on the card? The answer is a ``VerificationResult`` (a face that
does not match is a result, never an exception); camera trouble is a
``devices.errors.CameraError`` or ``DeviceUnavailable``.

    FrameSource   protocols.py   a camera: OpenCVCamera (camera.py) or, for
                                 ``--sim``, ImageFolderSource / VideoFileSource (sim.py)
    FaceVerifier  protocols.py   DlibFaceVerifier (verifier.py): detect, encode,
                                 compare, blink liveness (liveness.py)
    settings      settings.py    CameraSettings, FaceSettings; factory.py turns them
                                 into a source and a verifier

Only this package imports cv2, dlib and face_recognition, and only lazily
(the modules named above), so importing ``devices.face`` stays cheap and the
100 MB of models load once, when a verifier is first made. Face images and
encodings live in memory only; see README.md for the privacy rules.
"""

from devices.face.factory import make_face_verifier, open_frame_source
from devices.face.protocols import FaceVerifier, Frame, FrameSource, frames_of
from devices.face.result import Decision, Liveness, VerificationResult
from devices.face.settings import CameraSettings, FaceSettings, LivenessSettings

__all__ = [
    "CameraSettings",
    "Decision",
    "FaceSettings",
    "FaceVerifier",
    "Frame",
    "FrameSource",
    "Liveness",
    "LivenessSettings",
    "VerificationResult",
    "frames_of",
    "make_face_verifier",
    "open_frame_source",
]
