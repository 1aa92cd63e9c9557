"""证照打印: the citizen's e-licences, each printable with its verification QR code."""

from __future__ import annotations

from kiosk.app.screens.base import KioskScreen, fill_list
from kiosk.strings import t


class LicencesScreen(KioskScreen):
    def refresh(self) -> None:
        visit = self.journey.visit
        licences = (visit.licences or []) if visit else []
        rows = []
        for licence in licences:
            number = str(licence.get("licence_no") or licence.get("number") or "")
            title = licence.get("title") or licence.get("name") or licence.get("licence_type", "")
            rows.append(
                (
                    f"{t('print.button')}：{title}\n{number}",
                    lambda n=number: self.app.print_licence(n),
                )
            )
        fill_list(self.ids.rows, rows, 0, self.page_size(self.list_room()))
        notice = self.journey.notice
        if not notice and visit is not None and visit.licences is not None and not rows:
            notice = "print.none"
        self.ids.notice.text = t(notice) if notice else ""

    def clear(self) -> None:
        self.ids.rows.clear_widgets()
