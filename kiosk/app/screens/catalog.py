"""我要办: the catalog by department, by life event (一件事一次办), or by pinyin initials."""

from __future__ import annotations

from kivy.properties import NumericProperty, StringProperty

from kiosk.app.screens.base import KioskScreen, fill_list
from kiosk.strings import t


class CatalogScreen(KioskScreen):
    mode = StringProperty("department")  # department | life_event | search
    group = StringProperty("")  # the chosen department or life event
    page = NumericProperty(0)

    def set_mode(self, mode: str) -> None:
        self.mode, self.group, self.page = mode, "", 0
        self.ids.keypad.value = ""
        self.refresh()

    def choose_group(self, code: str) -> None:
        self.group, self.page = code, 0
        self.refresh()

    def turn(self, delta: int) -> None:
        self.page += delta
        self.refresh()

    def on_query(self) -> None:
        self.page = 0
        self.refresh()

    def back(self) -> None:
        if self.group:
            self.group, self.page = "", 0
            self.refresh()
        else:
            self.journey.go_home()

    def refresh(self) -> None:
        catalog = self.journey.catalog
        choose = self.journey.choose_item
        searching = self.mode == "search"
        rows: list[tuple[str, object]]
        heading = ""
        if searching:
            query = self.ids.keypad.value
            self.ids.query.text = query or t("catalog.search_hint")
            items = catalog.search(query)
            rows = [(i.name, lambda c=i.code: choose(c)) for i in items]
            heading = t("catalog.results", count=len(items)) if query else ""
            if query and not items:
                heading = t("catalog.no_results")
        elif self.mode == "life_event" and not self.group:
            rows = [
                (name, lambda c=code: self.choose_group(c)) for code, name, _ in catalog.life_events
            ]
        elif self.mode == "life_event":
            items = catalog.items_of_life_event(self.group)
            heading = dict((c, n) for c, n, _ in catalog.life_events).get(self.group, "")
            rows = [(i.name, lambda c=i.code: choose(c)) for i in items]
        elif not self.group:
            rows = [
                (name, lambda c=code: self.choose_group(c)) for code, name in catalog.departments
            ]
        else:
            heading = catalog.department_name(self.group)
            rows = [
                (i.name, lambda c=i.code: choose(c))
                for i in catalog.items_of_department(self.group)
            ]
        self.ids.heading.text = heading
        available = self.ids.list_box.height - self.ids.heading.height - 8
        self.page, pages = fill_list(self.ids.rows, rows, self.page, self.page_size(available))
        self.ids.pager.text = t("common.page", page=self.page + 1, pages=pages)
        for mode in ("department", "life_event", "search"):
            button = self.ids[f"tab_{mode}"]
            button.background_color = (
                (0.09, 0.36, 0.69, 1) if mode == self.mode else (0.55, 0.6, 0.68, 1)
            )

    def clear(self) -> None:
        self.mode, self.group, self.page = "department", "", 0
        self.ids.keypad.value = ""
