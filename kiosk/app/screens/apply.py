"""The application form: prefilled from the card, materials from e-licences, pick-lists only.

The applicant is shown masked (``张*``, ``110105********002X``) like on every
other screen: the kiosk stands in a public hall, and the citizen holding the
card knows who they are; the receipt masks them the same way.
"""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.app.screens.base import KioskScreen
from kiosk.strings import t

DELIVERIES = ("window", "post", "e_licence")
SOURCE_KEYS = {
    "card": "apply.material_from_card",
    "e_licence": "apply.material_from_licence",
    "none": "apply.material_from_form",
}


class ApplyScreen(KioskScreen):
    delivery = StringProperty("window")

    def on_pre_enter(self, *args: object) -> None:
        self.ids.phone_pad.value = ""
        self.delivery = "window"

    def refresh(self) -> None:
        visit = self.journey.visit
        if visit is None or visit.item is None or visit.identity is None:
            return
        self.ids.form.text = "\n".join(
            [
                f"{t('apply.item')}：{visit.item.name}",
                f"{t('apply.applicant')}：{visit.identity.masked_name}",
                f"{t('apply.id_number')}：{visit.identity.masked_id_number}",
            ]
        )
        self.ids.materials.text = f"{t('apply.materials')}：\n" + "\n".join(
            f"· {m.name}：{t(SOURCE_KEYS.get(m.source, 'apply.material_missing'))}"
            for m in visit.materials
        )
        self.ids.notice.text = t(self.journey.notice) if self.journey.notice else ""
        self.show_delivery()

    def show_delivery(self) -> None:
        for option in DELIVERIES:
            button = self.ids[f"delivery_{option}"]
            chosen = option == self.delivery
            button.background_color = (0.09, 0.36, 0.69, 1) if chosen else (0.86, 0.9, 0.97, 1)
            button.color = (1, 1, 1, 1) if chosen else (0.13, 0.15, 0.2, 1)

    def choose_delivery(self, option: str) -> None:
        self.delivery = option
        self.show_delivery()

    def submit(self) -> None:
        self.journey.submit_application(self.ids.phone_pad.value or None, self.delivery)

    def clear(self) -> None:
        self.ids.form.text = self.ids.materials.text = ""
        self.ids.phone_pad.value = ""
