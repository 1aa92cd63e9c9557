"""办事指南: one item's guide (materials, time limit, fee, where, visits)."""

from __future__ import annotations

from kiosk.app.screens.base import KioskScreen
from kiosk.strings import t

TYPE_NAMES = {
    "01": "行政许可",
    "05": "行政给付",
    "07": "行政确认",
    "10": "其他行政权力",
    "20": "公共服务",
}


class GuideScreen(KioskScreen):
    def refresh(self) -> None:
        visit = self.journey.visit
        if visit is None or visit.item is None:
            return
        item = visit.item
        catalog = self.journey.catalog
        if item.promised_days is None:
            limit = t("common.none")
        elif item.promised_days == 0:
            limit = t("guide.instant")
        else:
            limit = t("guide.promised_days", days=item.promised_days)
        if item.visits is None:
            visits = t("common.none")
        elif item.visits == 0:
            visits = t("guide.visits_zero")
        else:
            visits = t("guide.visits_n", n=item.visits)
        rows = [
            (t("guide.department"), catalog.department_name(item.department)),
            (t("guide.type"), TYPE_NAMES.get(str(item.type), str(item.type or t("common.none")))),
            (t("guide.time_limit"), limit),
            (t("guide.fee"), item.fee or t("guide.free")),
            (t("guide.where"), item.location or t("common.none")),
            (t("guide.hours"), item.hours or t("common.none")),
            (t("guide.visits"), visits),
        ]
        materials = "\n".join(
            f"· {m.name}（{t('guide.material_required') if m.required else t('guide.material_optional')}）"
            for m in item.materials
        )
        self.ids.name.text = item.name
        self.ids.facts.text = "\n".join(f"{label}：{value}" for label, value in rows)
        self.ids.materials.text = f"{t('guide.materials')}：\n{materials or t('common.none')}"
        self.ids.apply.disabled = not item.kiosk_apply
        self.ids.apply.text = t("guide.apply") if item.kiosk_apply else t("guide.not_online")

    def clear(self) -> None:
        self.ids.name.text = self.ids.facts.text = self.ids.materials.text = ""
