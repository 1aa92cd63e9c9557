"""The card could not be used: why, in plain words, and what to do."""

from kiosk.app.screens.base import KioskScreen
from kiosk.strings import t


class CardRejectedScreen(KioskScreen):
    def refresh(self) -> None:
        self.ids.reason.text = t(self.journey.notice or "card.error")
