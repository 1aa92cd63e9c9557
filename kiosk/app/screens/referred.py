"""Face verification failed every attempt: the staffed window."""

from kiosk.app.screens.base import KioskScreen


class ReferredScreen(KioskScreen):
    pass
