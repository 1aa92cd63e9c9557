"""The application state machine and its deadlines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backend.gov import workflow


def test_every_state_reaches_delivered_and_delivered_is_final() -> None:
    for state in workflow.STATES:
        seen, frontier = {state}, [state]
        while frontier:
            for nxt in workflow.TRANSITIONS[frontier.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    frontier.append(nxt)
        assert "delivered" in seen or state == "delivered"
    assert workflow.TRANSITIONS["delivered"] == ()


@pytest.mark.parametrize(
    ("current", "target"),
    [("submitted", "approved"), ("approved", "rejected"), ("delivered", "in_review")],
)
def test_moves_out_of_order_are_refused_with_the_allowed_ones(current: str, target: str) -> None:
    with pytest.raises(workflow.TransitionRefused, match="allowed"):
        workflow.check_transition(current, target)


def test_unknown_states_are_refused() -> None:
    with pytest.raises(workflow.TransitionRefused, match="unknown state"):
        workflow.check_transition("submitted", "lost")


def test_working_days_skip_weekends() -> None:
    friday = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    assert workflow.add_working_days(friday, 1) == friday + timedelta(days=3)  # Monday
    assert workflow.add_working_days(friday, 5) == friday + timedelta(days=7)
    assert workflow.deadline(friday, 5, "natural") == friday + timedelta(days=5)


def test_overdue_only_while_open() -> None:
    now = datetime(2026, 11, 27, tzinfo=UTC)
    past = now - timedelta(days=1)
    assert workflow.is_overdue("in_review", past, now)
    assert not workflow.is_overdue("approved", past, now)
    assert not workflow.is_overdue("in_review", None, now)
    assert not workflow.is_overdue("in_review", now + timedelta(days=1), now)
