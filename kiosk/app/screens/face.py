"""Face verification: the live preview, the blink prompt, at most N attempts."""

from __future__ import annotations

from kivy.graphics.texture import Texture

from kiosk.app.screens.base import KioskScreen
from kiosk.strings import t


class FaceScreen(KioskScreen):
    def refresh(self) -> None:
        journey = self.journey
        visit = journey.visit
        if visit is None or visit.identity is None:
            return
        self.ids.greeting.text = t("face.greeting", name=visit.identity.masked_name)
        busy = self.app.face_busy
        self.ids.prompt.text = t("face.checking") if busy else t("face.prompt")
        self.ids.attempt.text = t(
            "face.attempt",
            attempt=min(journey.face_attempt, journey.max_face_attempts),
            max=journey.max_face_attempts,
        )
        self.ids.notice.text = t(journey.notice) if journey.notice and not busy else ""
        self.ids.start.disabled = busy
        self.ids.start.opacity = 0 if busy else 1

    def show_frame(self, frame: object) -> None:
        """One RGB frame (numpy, height x width x 3) into the preview; GPU memory only."""
        height, width = frame.shape[:2]  # type: ignore[attr-defined]
        texture = self.ids.preview.texture
        if texture is None or texture.size != (width, height):
            texture = Texture.create(size=(width, height), colorfmt="rgb")
            texture.flip_vertical()
        texture.blit_buffer(frame.tobytes(), colorfmt="rgb", bufferfmt="ubyte")  # type: ignore[attr-defined]
        self.ids.preview.texture = texture
        self.ids.preview.canvas.ask_update()

    def clear(self) -> None:
        self.ids.preview.texture = None
        self.ids.greeting.text = ""
        self.ids.notice.text = ""
