"""办事指南: one item's guide (materials, time limit, fee, where, visits)."""

from __future__ import annotations

from kiosk.app.screens.base import KioskScreen
from kiosk.strings import has, t


class GuideScreen(KioskScreen):
    def refresh(self) -> None:
        item = self.journey.current_item
        if item is None:
            return
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
            (t("guide.type"), self.type_name(item)),
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
        browsing = self.journey.visit is None
        self.ids.apply.disabled = browsing or not item.kiosk_apply
        if not item.kiosk_apply:
            self.ids.apply.text = t("guide.not_online")
        else:
            self.ids.apply.text = t("guide.insert_card") if browsing else t("guide.apply")

    @staticmethod
    def type_name(item: object) -> str:
        """事项类型 as the guide names it, else from the national codes (01 行政许可 ...)."""
        name = item.raw.get("type_name")  # type: ignore[attr-defined]
        key = f"guide.type.{item.type}"  # type: ignore[attr-defined]
        return name or (t(key) if has(key) else t("common.none"))

    def clear(self) -> None:
        self.ids.name.text = self.ids.facts.text = self.ids.materials.text = ""
