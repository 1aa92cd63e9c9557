"""Query parameter types shared by the routers: untrusted input, checked before any SQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator


def to_utc(value: datetime) -> datetime:
    """Times without an offset are UTC; one whose offset takes it outside the calendar
    (``9999-12-31T23:59:59-23:59``) is refused, not left to overflow later."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError) as err:
        raise ValueError(
            "时间超出可表示的范围（换算为 UTC 后须在公元 1 年至 9999 年之间）"
        ) from err


UtcTime = Annotated[datetime, AfterValidator(to_utc)]
