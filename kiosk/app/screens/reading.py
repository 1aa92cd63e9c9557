"""Reading and checking the card (a second or so)."""

from kiosk.app.screens.base import KioskScreen


class ReadingScreen(KioskScreen):
    pass
