"""The application state machine and its deadlines, as plain data and pure functions.

::

    unmatched ──match──> submitted ──> accepted ──> in_review ──> approved ──> delivered
        │                    │                        │   ^          rejected ──> delivered
        └──> rejected <──────┘                        v   │
                                              more_material_needed

``unmatched`` holds a kiosk application whose citizen could not be resolved
(see backend/services/applications.py); a reviewer can match it or reject it.
Deadlines count working days (Monday to Friday; public holidays are not yet
in a calendar) or natural days from acceptance, as the item's guide says.
"""

from __future__ import annotations

from datetime import datetime, timedelta

STATES: dict[str, str] = {
    "unmatched": "待核实申请人",
    "submitted": "已提交",
    "accepted": "已受理",
    "in_review": "审核中",
    "more_material_needed": "需补正材料",
    "approved": "审核通过",
    "rejected": "不予批准",
    "delivered": "已办结送达",
}

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "unmatched": ("submitted", "rejected"),
    "submitted": ("accepted", "rejected"),
    "accepted": ("in_review", "rejected"),
    "in_review": ("approved", "rejected", "more_material_needed"),
    "more_material_needed": ("in_review", "rejected"),
    "approved": ("delivered",),
    "rejected": ("delivered",),
    "delivered": (),
}

OPEN_STATES = ("submitted", "accepted", "in_review", "more_material_needed")
CONCLUDED_STATES = ("approved", "rejected", "delivered")


class TransitionRefused(ValueError):
    """A move the state machine does not allow; the message says which moves are allowed."""


def check_transition(current: str, target: str) -> None:
    if target not in STATES:
        raise TransitionRefused(f"unknown state {target!r}; states: {', '.join(STATES)}")
    allowed = TRANSITIONS[current]
    if target not in allowed:
        options = ", ".join(allowed) or "none (the application is concluded)"
        raise TransitionRefused(f"cannot move from {current} to {target}; allowed: {options}")


def add_working_days(start: datetime, days: int) -> datetime:
    """``start`` plus ``days`` working days (Monday to Friday), at the same time of day."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current


def deadline(start: datetime, days: int, unit: str) -> datetime:
    if unit == "natural":
        return start + timedelta(days=days)
    return add_working_days(start, days)


def is_overdue(state: str, deadline_at: datetime | None, now: datetime) -> bool:
    return deadline_at is not None and state in OPEN_STATES and now > deadline_at
