"""The ``--sim`` camera: a person to play the citizen presents the card holder's face,
another person's face, or nobody.

A product feature for demos, training and the kiosk's own tests: the frames
are the card's demo portrait (or another portrait shipped in
``kiosk/sim_faces``: an official portrait by the US federal government, public domain,
from the face tests' images) turned by ``devices.face.sim.blink_sequence`` into a
640 x 480 capture of that person blinking, so the real verifier, liveness
included, decides. The sequences are made once, in memory only (never
written), on first use.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Literal

import numpy as np

from devices.card.demo import PHOTO_PATH
from devices.face.protocols import Frame
from devices.face.sim import blink_sequence, read_image
from devices.health import DeviceHealth

Presenting = Literal["holder", "other", "nobody"]
OTHER_PERSON = Path(__file__).with_name("sim_faces") / "other_person.jpg"
SIZE = (640, 480)


class SimFaceCamera:
    """A ``FrameSource`` whose subject is switched by the sim panel."""

    def __init__(self, presenting: Presenting = "holder") -> None:
        self._lock = threading.Lock()
        self._build_lock = threading.Lock()  # dlib's detector is not to be shared between threads
        self._presenting: Presenting = presenting
        self._sequences: dict[str, list[Frame]] = {}
        self._index = 0
        self._broken = False

    def prepare(self) -> None:
        """Make the blink sequences now (about half a second) rather than at first use."""
        for who in ("holder", "other"):
            self._sequence(who)  # type: ignore[arg-type]

    def _sequence(self, who: Presenting) -> list[Frame]:
        with self._build_lock:
            return self._sequences.get(who) or self._build(who)

    def _build(self, who: Presenting) -> list[Frame]:
        if who == "nobody":
            frames = [np.full((SIZE[1], SIZE[0], 3), 200, np.uint8)]
        else:
            portrait = read_image(PHOTO_PATH if who == "holder" else OTHER_PERSON)
            frames = blink_sequence(portrait, size=SIZE)
        self._sequences[who] = frames
        return frames

    def present(self, who: Presenting) -> None:
        with self._lock:
            self._presenting = who
            self._index = 0

    @property
    def presenting(self) -> Presenting:
        return self._presenting

    def break_down(self, broken: bool = True) -> None:
        """A trainer unplugs the camera (out-of-service screen)."""
        self._broken = broken

    def read(self) -> Frame:
        from devices.errors import DeviceUnavailable

        if self._broken:
            raise DeviceUnavailable("simulated camera unplugged")
        frames = self._sequence(self._presenting)
        with self._lock:
            frame = frames[self._index % len(frames)]
            self._index += 1
        return frame

    def close(self) -> None:
        pass

    def health(self) -> DeviceHealth:
        if self._broken:
            return DeviceHealth("absent", "simulated camera unplugged")
        return DeviceHealth("ok", f"simulator: {self._presenting}")
