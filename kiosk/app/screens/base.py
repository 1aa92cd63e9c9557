"""What every screen shares: the app, the journey, ``refresh`` and ``clear``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kivy.app import App
from kivy.clock import Clock
from kivy.metrics import dp
from kivy.uix.screenmanager import Screen

if TYPE_CHECKING:
    from kiosk.app.app import KioskApp
    from kiosk.journey import Journey

PAGE_SIZE = 6
ELDERLY_PAGE_SIZE = 3  # 适老化: fewer choices per screen
LANDSCAPE_PAGE_SIZE = 4  # a horizontal screen has less height for rows
ELDERLY_LANDSCAPE_PAGE_SIZE = 2


class KioskScreen(Screen):
    @property
    def app(self) -> KioskApp:
        return App.get_running_app()  # type: ignore[return-value]

    @property
    def journey(self) -> Journey:
        return self.app.journey

    def refresh(self) -> None:
        """Render the journey's current state (called on every change while shown)."""

    def clear(self) -> None:
        """Forget everything of the citizen shown here (end of session)."""

    def on_list_resized(self) -> None:
        """The list's room changed (keypad shown, screen turned): refit the page."""
        if self.manager is not None and self.manager.current == self.name:
            Clock.schedule_once(lambda _dt: self.refresh(), 0)

    def list_room(self) -> float | None:
        box = self.ids.get("list_box")
        return None if box is None else box.height

    def page_size(self, available: float | None = None) -> int:
        """Rows per page: fewer in the elderly mode and on a horizontal screen, and never
        more than ``available`` pixels of height hold."""
        if self.app.landscape:
            size = ELDERLY_LANDSCAPE_PAGE_SIZE if self.journey.elderly else LANDSCAPE_PAGE_SIZE
        else:
            size = ELDERLY_PAGE_SIZE if self.journey.elderly else PAGE_SIZE
        if available is not None and available > 0:
            row = self.app.fs * dp(84) + dp(8)
            size = max(1, min(size, int((available + dp(8)) // row)))
        return size


def fill_list(container: Any, rows: list[tuple[str, Any]], page: int, size: int) -> tuple[int, int]:
    """Fill ``container`` with one LightButton per row of the page; returns (page, pages)."""
    from kivy.factory import Factory

    container.clear_widgets()
    pages = max(1, (len(rows) + size - 1) // size)
    page = min(max(0, page), pages - 1)
    for text, action in rows[page * size : (page + 1) * size]:
        button = Factory.LightButton(text=text)
        # Long text (an FAQ answer) grows its row instead of spilling over the next one.
        base = button.height
        button.bind(
            texture_size=lambda b, size, base=base: setattr(b, "height", max(base, size[1] + 24))
        )
        if action is not None:
            button.bind(on_release=lambda _b, a=action: a())
        container.add_widget(button)
    return page, pages
