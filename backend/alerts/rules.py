"""The alert rules, declared in one table; each turns what the fleet knows into a condition.

A rule looks at one kiosk (its row: status, last message, latest health) or,
for face verification, at the window's counts; it answers ``None`` (all well)
or a ``Condition`` (severity, a Chinese detail for the operator, a value).
Thresholds come from Settings (``FLEET_ALERT_*``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from backend.core.config import Settings

BROKEN = ("fault", "absent")


@dataclass(frozen=True)
class Condition:
    severity: str  # critical, warning
    detail: str
    value: float | None = None


@dataclass(frozen=True)
class KioskFacts:
    id: str
    online: bool
    last_seen_at: datetime
    health: dict[str, Any] | None
    face_attempts: int = 0
    face_failures: int = 0
    outbox_depth_before: int | None = None  # FLEET_ALERT_BACKLOG_WINDOW_S ago


Check = Callable[[KioskFacts, Settings, datetime], Condition | None]


@dataclass(frozen=True)
class Rule:
    name: str
    title: str  # shown to operators
    check: Check


def _offline(k: KioskFacts, s: Settings, now: datetime) -> Condition | None:
    silent = (now - k.last_seen_at).total_seconds()
    if silent <= s.alert_offline_after_s:
        return None
    minutes = silent / 60
    return Condition(
        "critical",
        f"离线 {minutes:.0f} 分钟（最后上报超过 {s.alert_offline_after_s:.0f} 秒）",
        round(silent, 1),
    )


def _paper(k: KioskFacts, s: Settings, now: datetime) -> Condition | None:
    paper = (k.health or {}).get("paper")
    if paper == "out":
        return Condition("critical", "打印机缺纸")
    if paper == "low":
        return Condition("warning", "打印纸将尽")
    return None


def _device(name: str, label: str) -> Check:
    def check(k: KioskFacts, s: Settings, now: datetime) -> Condition | None:
        device = ((k.health or {}).get("devices") or {}).get(name)
        if not device or device.get("state") not in BROKEN:
            return None
        state = "未连接" if device["state"] == "absent" else "故障"
        detail = device.get("detail") or ""
        return Condition("critical", f"{label}{state} {detail}".strip()[:500])

    return check


def _face(k: KioskFacts, s: Settings, now: datetime) -> Condition | None:
    if k.face_attempts < s.alert_face_min_attempts:
        return None
    rate = k.face_failures / k.face_attempts
    if rate <= s.alert_face_failure_rate:
        return None
    return Condition(
        "warning",
        f"人脸核验失败率 {rate:.0%}（{k.face_failures}/{k.face_attempts}，阈值 {s.alert_face_failure_rate:.0%}）",
        round(rate, 4),
    )


def _backlog(k: KioskFacts, s: Settings, now: datetime) -> Condition | None:
    """Too many unsent events, the oldest too old, or the backlog growing fast."""
    h = k.health or {}
    depth = h.get("outbox_depth") or 0
    age = h.get("outbox_oldest_age_s") or 0
    growth = depth - k.outbox_depth_before if k.outbox_depth_before is not None else 0
    if (
        depth < s.alert_backlog_depth
        and age < s.alert_backlog_age_s
        and growth < s.alert_backlog_growth
    ):
        return None
    detail = f"待发事件积压 {depth} 条，最早的已等待 {age / 60:.0f} 分钟"
    if growth >= s.alert_backlog_growth:
        detail += f"，{s.alert_backlog_window_s / 60:.0f} 分钟内增加 {growth} 条"
    return Condition("warning", detail, float(depth))


def _disk(k: KioskFacts, s: Settings, now: datetime) -> Condition | None:
    h = k.health or {}
    total, free = h.get("disk_total_bytes") or 0, h.get("disk_free_bytes")
    if not total or free is None:
        return None
    ratio = free / total
    if ratio >= s.alert_disk_free_ratio:
        return None
    return Condition(
        "warning", f"磁盘将满：剩余 {ratio:.1%}（{free / 1e9:.1f} GB）", round(ratio, 4)
    )


def _clock(k: KioskFacts, s: Settings, now: datetime) -> Condition | None:
    """The kiosk's clock is wrong: its timestamps order nothing beyond the allowed skew,
    its receipts carry the wrong date, and its signed requests are refused."""
    skew = (k.health or {}).get("clock_skew_s")
    if not isinstance(skew, int | float) or abs(skew) <= s.alert_clock_skew_s:
        return None
    direction = "快" if skew > 0 else "慢"
    return Condition(
        "warning",
        f"终端时钟{direction} {abs(skew):.0f} 秒（允许 {s.alert_clock_skew_s:.0f} 秒），请检查时间同步",
        float(skew),
    )


RULES: list[Rule] = [
    Rule("offline", "终端离线", _offline),
    Rule("paper", "打印纸", _paper),
    Rule("card_reader", "读卡器故障", _device("card_reader", "读卡器")),
    Rule("camera", "摄像头故障", _device("camera", "摄像头")),
    Rule("face_failure_rate", "人脸核验失败率高", _face),
    Rule("outbox_backlog", "事件积压", _backlog),
    Rule("disk", "磁盘将满", _disk),
    Rule("clock", "终端时钟偏差", _clock),
]
RULE_TITLES = {r.name: r.title for r in RULES}
