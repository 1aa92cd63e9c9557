"""我要问: the FAQ knowledge base, by topic (no typing: Kivy has no Chinese input)."""

from __future__ import annotations

from kiosk.app.screens.base import KioskScreen, fill_list
from kiosk.strings import t

TOPICS = ("身份证", "社保", "公积金", "医保", "户籍", "营业执照")


class AskScreen(KioskScreen):
    def on_kv_post(self, base_widget: object) -> None:
        from kivy.factory import Factory

        for topic in TOPICS:
            button = Factory.LightButton(text=topic, halign="center")
            button.bind(on_release=lambda _b, q=topic: self.journey.search_faq(q))
            self.ids.topics.add_widget(button)

    def refresh(self) -> None:
        visit = self.journey.visit
        answers = visit.faq if visit else []
        rows = [(f"问：{a.get('question', '')}\n答：{a.get('answer', '')}", None) for a in answers]
        fill_list(self.ids.rows, rows, 0, self.page_size(self.list_room()))
        self.ids.notice.text = t(self.journey.notice) if self.journey.notice else ""

    def clear(self) -> None:
        self.ids.rows.clear_widgets()
