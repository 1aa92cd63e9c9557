"""The Kivy touch-screen app (``kiosk`` / ``kiosk --sim``). Import ``kiosk.app.app`` only after
``prepare_kivy`` has set Kivy's environment (window size, private home, no argv parsing)."""

from __future__ import annotations

import os
from pathlib import Path

from kiosk.settings import KioskAppSettings


def prepare_kivy(settings: KioskAppSettings, kivy_home: Path | None = None) -> None:
    """Kivy reads its environment and config at import: set both before importing it."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
    if kivy_home is not None:
        os.environ["KIVY_HOME"] = str(kivy_home)
    from kivy.config import Config

    Config.set("graphics", "width", str(settings.width))
    Config.set("graphics", "height", str(settings.height))
    Config.set("graphics", "fullscreen", "auto" if settings.fullscreen else "0")
    Config.set("graphics", "resizable", "0")
    Config.set("input", "mouse", "mouse,disable_multitouch")
    Config.set("kivy", "exit_on_escape", "0")
