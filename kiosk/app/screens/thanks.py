"""感谢您的评价."""

from kiosk.app.screens.base import KioskScreen


class ThanksScreen(KioskScreen):
    pass
