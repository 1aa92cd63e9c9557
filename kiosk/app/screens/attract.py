"""The attract screen: what a passer-by sees; insert a card to begin."""

from __future__ import annotations

from kiosk.app.screens.base import KioskScreen


class AttractScreen(KioskScreen):
    def open_technician_pin(self) -> None:
        self.app.ask_technician_pin()
