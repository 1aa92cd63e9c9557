"""我要评: five levels (非常满意 ... 非常不满意), reasons for a low one, pick-lists only."""

from __future__ import annotations

from kivy.properties import ListProperty, NumericProperty

from kiosk.app.screens.base import KioskScreen
from kiosk.journey import RATING_REASONS
from kiosk.strings import t


class RateScreen(KioskScreen):
    level = NumericProperty(0)
    reasons = ListProperty([])

    def on_kv_post(self, base_widget: object) -> None:
        from kivy.factory import Factory

        self._level_buttons = []
        for level in (5, 4, 3, 2, 1):
            button = Factory.BigButton(text=t(f"rate.level.{level}"))
            button.bind(on_release=lambda _b, v=level: self.choose(v))
            self._level_buttons.append(button)
        for reason in RATING_REASONS:
            button = Factory.LightButton(text=t(f"rate.reason.{reason}"), halign="center")
            button.bind(on_release=lambda _b, r=reason: self.toggle_reason(r))
            self.ids.reasons.add_widget(button)

    def on_pre_enter(self, *args: object) -> None:
        self.level, self.reasons = 0, []
        self.show()

    def choose(self, level: int) -> None:
        if level >= 3:
            self.journey.rate(level)
            return
        self.level = level
        self.show()

    def toggle_reason(self, reason: str) -> None:
        self.reasons = (
            [r for r in self.reasons if r != reason]
            if reason in self.reasons
            else [*self.reasons, reason]
        )
        self.show()

    def submit(self) -> None:
        self.journey.rate(self.level, list(self.reasons))

    def show(self) -> None:
        # Widgets are taken out rather than hidden: a hidden widget still takes touches.
        low = self.level in (1, 2)
        levels, box = self.ids.levels, self.ids.low_box
        if low and levels.children:
            levels.clear_widgets()
        elif not low and not levels.children:
            for button in self._level_buttons:
                levels.add_widget(button)
        if low and box.parent is None:
            self.ids.layout.add_widget(box, index=1)
        elif not low and box.parent is not None:
            box.parent.remove_widget(box)
        for button, reason in zip(reversed(self.ids.reasons.children), RATING_REASONS, strict=True):
            chosen = reason in self.reasons
            button.background_color = (0.85, 0.25, 0.15, 1) if chosen else (0.86, 0.9, 0.97, 1)
            button.color = (1, 1, 1, 1) if chosen else (0.13, 0.15, 0.2, 1)

    def refresh(self) -> None:
        visit = self.journey.visit
        target = visit.rating_target if visit else None
        self.ids.target.text = target.item_name if target else ""
