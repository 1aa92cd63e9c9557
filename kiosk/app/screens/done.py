"""申请已提交: the receipt number at once, the printed receipt (or the SMS / mini-app)."""

from kiosk.app.screens.base import KioskScreen
from kiosk.strings import t


class DoneScreen(KioskScreen):
    def refresh(self) -> None:
        visit = self.journey.visit
        if visit is None or not visit.transactions:
            return
        transaction = visit.transactions[-1]
        self.ids.receipt_no.text = transaction.receipt_no
        self.ids.item.text = transaction.item_name
        notice = self.journey.notice
        lines = [t(notice)] if notice else [t("print.printing")]
        if notice == "done.paper_out":
            lines.append(t("done.paper_alternative"))
        if self.journey.offline:
            lines.append(t("done.queued"))
        self.ids.status.text = "\n".join(lines)

    def clear(self) -> None:
        self.ids.receipt_no.text = self.ids.item.text = self.ids.status.text = ""
