"""The banners over every screen: offline, and the idle countdown."""

from __future__ import annotations

from kivy.properties import NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout


class OfflineBanner(BoxLayout):
    text = StringProperty("")


class CountdownBanner(BoxLayout):
    seconds = NumericProperty(0)
    text = StringProperty("")
