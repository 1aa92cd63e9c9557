"""我要问: the FAQ knowledge base, by topic (no typing: Kivy has no Chinese input)."""

from __future__ import annotations

from kivy.properties import NumericProperty, StringProperty

from kiosk.app.screens.base import KioskScreen, fill_list
from kiosk.strings import t

TOPICS = tuple(f"ask.topic.{n}" for n in range(1, 7))  # keys: the words are the queries


class AskScreen(KioskScreen):
    page = NumericProperty(0)
    topic = StringProperty("")  # the last topic looked up: what a question to staff is about

    def on_kv_post(self, base_widget: object) -> None:
        from kivy.factory import Factory

        for key in TOPICS:
            topic = t(key)
            button = Factory.LightButton(text=topic, halign="center")
            button.bind(on_release=lambda _b, q=topic: self.search(q))
            self.ids.topics.add_widget(button)

    def search(self, topic: str) -> None:
        self.page = 0
        self.topic = topic
        self.journey.search_faq(topic)

    def ask_staff(self) -> None:
        self.journey.ask_staff(self.topic)

    def turn(self, delta: int) -> None:
        self.page += delta
        self.refresh()

    def refresh(self) -> None:
        visit = self.journey.visit
        answers = visit.faq if visit else []
        rows = [
            (t("ask.entry", question=a.get("question", ""), answer=a.get("answer", "")), None)
            for a in answers
        ]
        # An answer takes several lines: one per page on a horizontal screen or in the
        # elderly mode, two otherwise.
        size = 1 if (self.app.landscape or self.journey.elderly) else 2
        self.page, _pages = fill_list(self.ids.rows, rows, self.page, size)
        self.ids.notice.text = t(self.journey.notice) if self.journey.notice else ""

    def clear(self) -> None:
        self.ids.rows.clear_widgets()
        self.page = 0
        self.topic = ""
