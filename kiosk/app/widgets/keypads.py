"""On-screen keypads: Kivy has no Chinese input method, and a citizen never types a name.

``PinyinKeypad`` enters pinyin initials for search (A-Z), ``NumericKeypad``
digits (a phone number, a technician's PIN). Both hold their text in
``value``; screens bind to it.
"""

from __future__ import annotations

from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.gridlayout import GridLayout

from kiosk.strings import t

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DELETE, CLEAR = "<del>", "<clear>"  # not letters: "C" is a letter of the pinyin keypad


class _Keypad(GridLayout):
    value = StringProperty("")
    max_length = NumericProperty(20)
    masked = BooleanProperty(False)
    keys: tuple[str, ...] = ()

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        from kivy.factory import Factory

        for key in self.keys:
            label = {DELETE: t("keypad.delete"), CLEAR: t("keypad.clear")}.get(key, key)
            button = Factory.KeyButton(text=label)
            button.bind(on_release=lambda _b, k=key: self.press(k))
            self.add_widget(button)

    def press(self, key: str) -> None:
        if key == DELETE:
            self.value = self.value[:-1]
        elif key == CLEAR:
            self.value = ""
        elif len(self.value) < self.max_length:
            self.value += key

    @property
    def shown(self) -> str:
        return "●" * len(self.value) if self.masked else self.value


class PinyinKeypad(_Keypad):
    keys = (*LETTERS, DELETE, CLEAR)


class NumericKeypad(_Keypad):
    keys = ("1", "2", "3", "4", "5", "6", "7", "8", "9", CLEAR, "0", DELETE)
