"""Home: the five doors (我要办, 我要查, 我要问, 我要评, 证照打印) and 大字模式."""

from kivy.metrics import sp

from kiosk.app.screens.base import KioskScreen
from kiosk.strings import t

DOORS = ("apply", "lookup", "ask", "rate", "print")


class HomeScreen(KioskScreen):
    def refresh(self) -> None:
        visit = self.journey.visit
        if visit is None or visit.identity is None:
            return
        # Masked: a person behind the citizen can read this screen.
        self.ids.welcome.text = t("home.welcome", name=visit.identity.masked_name)
        self.ids.id_number.text = t("home.id", id_number=visit.identity.masked_id_number)
        self.ids.elderly.text = t("home.standard") if self.journey.elderly else t("home.elderly")
        for door in DOORS:
            # 大字模式: the big word alone; the standard mode adds a line of explanation.
            hint = f"\n[size={int(sp(22))}]{t(f'home.{door}_hint')}[/size]"
            self.ids[door].text = t(f"home.{door}") + ("" if self.journey.elderly else hint)

    def clear(self) -> None:
        self.ids.welcome.text = ""
        self.ids.id_number.text = ""
