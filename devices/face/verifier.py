"""DlibFaceVerifier: is the live person the card's holder, and alive?

One attempt reads frames until it has seen a blink and a face in enough frames
(or its frame budget ends), then encodes ``compared_frames`` of those frames,
spread over the whole sequence so that the face that blinked is the face that
is compared, and accepts when ``required_matches`` of them are within the
threshold (k of n: one lucky frame is not enough, one blurred frame does not
refuse). Encoding, the slow step, stops as soon as k of n is settled either
way. If the largest face jumps to another place mid-sequence (a photo swapped
in, someone else stepping up) the evidence so far is dropped. A second face of
comparable size (``other_face_ratio``) in ``required_matches`` frames ends the
attempt as ``multiple_faces``: whose face would be verified is ambiguous, and
the other person may be helping or impersonating.

After a whole-frame search found the citizen alone, frames are searched only
around that face (``FaceAnalyser.detect_near``); the whole frame again at least
every ``full_detection_every`` frames, whenever that search is not plainly the
same face alone, after a crowded frame, and on the frame that would decide
(README.md, "Tracking").

The frames stay in this call's locals and are dropped when it returns; only
the numbers in ``VerificationResult`` leave it.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Iterable

import cv2

from devices.errors import CardDataInvalid
from devices.face.analysis import (
    Box,
    FaceAnalyser,
    FaceObservation,
    box_area,
    face_distance,
    iou,
)
from devices.face.liveness import EyeSample, blinked
from devices.face.protocols import Frame
from devices.face.reference import FaceReference
from devices.face.result import Decision, Liveness, VerificationResult
from devices.face.settings import FaceSettings

logger = logging.getLogger(__name__)

CARD_PHOTO_MAX_SIDE = 640
"""Card photos are small (a resident card's is 102 x 126); big scans are shrunk for speed."""
SAME_FACE_MIN_IOU = 0.3
"""Consecutive boxes of one person overlap far more than this, even while moving."""
TRACK_MIN_IOU = 0.5
"""A frame looked at near the last box only counts when its one face overlaps that box
at least this much; anything else (no face, two, a jump) is looked at whole."""


def _others_near(boxes: list[Box], ratio: float) -> int:
    """How many faces besides the largest (``boxes[0]``) are at least ``ratio`` of its size."""
    main = box_area(boxes[0]) ** 0.5
    return sum(box_area(box) ** 0.5 >= ratio * main for box in boxes[1:])


def _encoding_order(indices: list[int]) -> list[int]:
    """First and last (either side of the blink) first, then those in between."""
    if len(indices) <= 2:
        return indices
    return [indices[0], indices[-1], *indices[1:-1]]


def _spread(count: int, wanted: int) -> list[int]:
    """``wanted`` indices spread evenly over range(count), first and last included."""
    if count <= wanted:
        return list(range(count))
    if wanted == 1:
        return [count - 1]
    return sorted({round(i * (count - 1) / (wanted - 1)) for i in range(wanted)})


class DlibFaceVerifier:
    """The FaceVerifier of the product, on dlib's HOG detector and ResNet encoder."""

    def __init__(self, settings: FaceSettings | None = None) -> None:
        self.settings = settings or FaceSettings()
        self._live = FaceAnalyser(
            detect_max_side=self.settings.detect_max_side, upsample=self.settings.detect_upsample
        )
        self._card = FaceAnalyser(
            detect_max_side=CARD_PHOTO_MAX_SIDE, upsample=self.settings.card_photo_upsample
        )

    def __repr__(self) -> str:
        s = self.settings
        return (
            f"DlibFaceVerifier(threshold={s.threshold}, "
            f"k={s.required_matches} of n={s.compared_frames}, liveness={s.liveness.enabled})"
        )

    def enrol(self, card_photo: Frame) -> FaceReference:
        try:
            face = self._card.find_face(card_photo)
            if face is None:  # tiny photos: one more upsampling finds smaller faces
                face = self._card.find_face(
                    card_photo, upsample=self.settings.card_photo_upsample + 1
                )
            if face is None:
                raise CardDataInvalid("no face found in the card photo", key="face.card_photo")
            return FaceReference(self._card.encode(card_photo, face))
        except (ValueError, RuntimeError, TypeError, cv2.error) as err:
            raise CardDataInvalid(f"card photo unusable: {err}", key="face.card_photo") from err

    def verify(self, reference: FaceReference, frames: Iterable[Frame]) -> VerificationResult:
        started = time.perf_counter()
        try:
            result = self._verify(reference, frames, started)
        except (ValueError, RuntimeError, TypeError, cv2.error) as err:
            # A frame the library cannot take, or a cleared reference: a result, so the
            # journey can fall back to the staffed window. CameraError propagates.
            result = VerificationResult(
                Decision.ERROR,
                None,
                Liveness.NOT_CHECKED,
                (time.perf_counter() - started) * 1000.0,
                detail=f"{type(err).__name__}: {err}",
            )
        logger.info(
            "face verification: %s, distance %s, liveness %s, %d of %d frames matched "
            "(%d needed), %d frames seen, %.0f ms",
            result.decision.value,
            "-" if result.distance is None else f"{result.distance:.3f}",
            result.liveness.value,
            result.matched_frames,
            result.compared_frames,
            result.required_frames,
            result.frames_seen,
            result.elapsed_ms,
        )
        return result

    def _enough(self, faces: int, alive: bool) -> bool:
        """Does the evidence settle the attempt (a blink and enough faces)?"""
        s = self.settings
        return faces >= s.compared_frames and (alive or not s.liveness.enabled)

    def _track(self, frame: Frame, last_box: Box) -> FaceObservation | None:
        """The face near ``last_box``, if it is plainly the same one and alone there."""
        boxes = self._live.detect_near(frame, last_box)
        if len(boxes) != 1 or iou(boxes[0], last_box) < TRACK_MIN_IOU:
            return None  # lost, joined or moved: the whole frame decides
        return self._live.observe(frame, boxes[0])

    def _verify(
        self, reference: FaceReference, frames: Iterable[Frame], started: float
    ) -> VerificationResult:
        s = self.settings
        wanted = reference.encoding()  # raises ValueError once cleared
        faces: list[tuple[Frame, FaceObservation]] = []
        samples: list[EyeSample] = []
        seen = 0
        alive = False
        crowded = 0  # frames with a second person at the kiosk
        last_box: Box | None = None
        last_full = 0  # the frame number of the last whole-frame detection
        tracking = False  # may the next frame be looked at near last_box only?
        for frame in frames:
            seen += 1
            face, sample, tracked = None, None, None
            if (
                tracking
                and last_box is not None
                and seen - last_full < s.full_detection_every
                and seen < s.max_frames
            ):
                face = self._track(frame, last_box)
                if face is not None:
                    sample = EyeSample.of(face)
                    would_be_alive = s.liveness.enabled and blinked([*samples, sample], s.liveness)
                    if self._enough(len(faces) + 1, would_be_alive):
                        # The frame that would end the attempt is looked at whole.
                        face, tracked = None, face
            if face is None:
                last_full = seen
                boxes = self._live.detect(frame)
                if boxes and _others_near(boxes, s.other_face_ratio):
                    # Not evidence for anyone: whose face it would be is the question.
                    crowded += 1
                    tracking = False
                    if crowded >= s.required_matches:
                        break
                    continue
                face, sample = None, None
                if tracked is not None and boxes and iou(boxes[0], tracked.box) >= TRACK_MIN_IOU:
                    face = tracked  # the whole frame agrees: the same face, alone
                elif boxes:
                    face = self._live.observe(frame, self._live.refine(frame, boxes[0]))
                tracking = face is not None
                if face is not None:
                    sample = EyeSample.of(face)
            if face is not None and sample is not None:
                if last_box is not None and iou(last_box, face.box) < SAME_FACE_MIN_IOU:
                    logger.info("the face moved away or changed mid-attempt; evidence reset")
                    faces.clear()
                    samples.clear()
                    alive = False
                last_box = face.box
                faces.append((frame, face))
                samples.append(sample)
                alive = blinked(samples, s.liveness) if s.liveness.enabled else False
            if self._enough(len(faces), alive):
                break
            if seen >= s.max_frames:
                break

        liveness = Liveness.NOT_CHECKED
        if s.liveness.enabled:
            liveness = Liveness.PASSED if alive else Liveness.FAILED

        if crowded >= s.required_matches:
            faces.clear()
            return VerificationResult(
                Decision.MULTIPLE_FACES,
                None,
                Liveness.NOT_CHECKED,
                (time.perf_counter() - started) * 1000.0,
                frames_seen=seen,
                required_frames=s.required_matches,
                detail=f"a second face in {crowded} of {seen} frames",
            )

        if len(faces) < s.required_matches:
            return VerificationResult(
                Decision.NO_FACE,
                None,
                liveness if faces else Liveness.NOT_CHECKED,
                (time.perf_counter() - started) * 1000.0,
                frames_seen=seen,
                required_frames=s.required_matches,
                detail=f"a face in {len(faces)} of {seen} frames",
            )

        chosen = _encoding_order(_spread(len(faces), s.compared_frames))
        distances: list[float] = []
        matched = 0
        for done, index in enumerate(chosen, start=1):
            distances.append(face_distance(wanted, self._live.encode(*faces[index])))
            matched += distances[-1] <= s.threshold
            if matched >= s.required_matches or matched + len(chosen) - done < s.required_matches:
                break  # k of n settled either way: the other encodings cannot change it
        faces.clear()
        if liveness is Liveness.FAILED:
            decision = Decision.LIVENESS_FAILED
        elif matched >= s.required_matches:
            decision = Decision.MATCH
        else:
            decision = Decision.NO_MATCH
        return VerificationResult(
            decision,
            statistics.median(distances),
            liveness,
            (time.perf_counter() - started) * 1000.0,
            frames_seen=seen,
            compared_frames=len(distances),
            matched_frames=matched,
            required_frames=s.required_matches,
        )
