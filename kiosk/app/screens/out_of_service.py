"""暂停服务: a card reader or camera fault, or the kiosk locked by ops."""

from kiosk.app.screens.base import KioskScreen
from kiosk.strings import t


class OutOfServiceScreen(KioskScreen):
    def refresh(self) -> None:
        journey = self.journey
        reasons = [t(f"oos.{device}") for device in journey.broken_essential()]
        if journey.locked:
            reasons.insert(0, t("oos.locked"))
        self.ids.reason.text = "\n".join(reasons)
