"""Widgets shared by the screens: big buttons, banners, keypads (layout in widgets.kv)."""

from kiosk.app.widgets.banners import CountdownBanner, OfflineBanner
from kiosk.app.widgets.keypads import NumericKeypad, PinyinKeypad

__all__ = ["CountdownBanner", "NumericKeypad", "OfflineBanner", "PinyinKeypad"]
