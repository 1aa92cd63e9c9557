"""我要查: the citizen's applications and their progress (the last known state offline)."""

from __future__ import annotations

from kivy.properties import NumericProperty

from kiosk.app.screens.base import KioskScreen, fill_list
from kiosk.strings import has, t


def status_text(status: object) -> str:
    key = f"lookup.status.{status}"
    return t(key) if has(key) else str(status or "")


class LookupScreen(KioskScreen):
    page = NumericProperty(0)

    def turn(self, delta: int) -> None:
        self.page += delta
        self.refresh()

    def refresh(self) -> None:
        rows = []
        for row in self.journey.lookup_rows():
            item = row.get("item")
            name = row.get("item_name") or (item.get("name", "") if isinstance(item, dict) else "")
            number = row.get("receipt_no") or row.get("case_no") or row.get("id", "")
            state = row.get("state_name") or status_text(row.get("state") or row.get("status"))
            rows.append((f"{name}\n{number}  【{state}】", None))
        self.page, pages = fill_list(
            self.ids.rows, rows, self.page, self.page_size(self.list_room())
        )
        self.ids.pager.text = t("common.page", page=self.page + 1, pages=pages)
        self.ids.notice.text = t(self.journey.notice) if self.journey.notice else ""
        self.ids.empty.text = t("lookup.none") if not rows else ""

    def clear(self) -> None:
        self.ids.rows.clear_widgets()
        self.page = 0
