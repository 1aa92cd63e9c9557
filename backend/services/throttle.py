"""Attempt counters that hold under concurrency: log-in failures, SMS codes, per-source limits.

A counter is one row (key, count, resets_at). ``take`` spends one attempt
*before* the guarded work (checking a password or a code, sending an SMS),
with one conditional statement::

    UPDATE attempt_counters SET count = ..., resets_at = ...
     WHERE key = :key AND (count < :limit OR resets_at <= :now) RETURNING count

The database serialises writers of the row (PostgreSQL's row lock, re-checking
the WHERE clause after a concurrent commit; SQLite's single writer), so no two
requests can both read "4 of 5" and go on: however many arrive at once, at
most ``limit`` get an attempt until the window ends. The caller commits right
after ``take``, before the slow work, and a success gives its attempt back
(``give_back``) or clears the counter (``clear``), so only failures stay counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, literal, or_, select, update
from sqlalchemy.orm import Session

from backend.core.db import insert_ignoring_duplicates
from backend.models import AttemptCounter
from backend.models.base import UTCDateTime, utcnow

_T = AttemptCounter.__table__
KEY_LENGTH = 160


@dataclass(frozen=True)
class Taken:
    """The answer of ``take``: allowed, or refused until ``retry_after_s`` from now."""

    allowed: bool
    retry_after_s: int = 0

    def __bool__(self) -> bool:
        return self.allowed


def key(kind: str, subject: str) -> str:
    """A counter's key, cut to the column's size (subjects are hashes, names or addresses)."""
    return f"{kind}:{subject}"[:KEY_LENGTH]


def _at(value: datetime):  # type: ignore[no-untyped-def]
    return literal(value, UTCDateTime())


def take(
    session: Session,
    counter: str,
    *,
    limit: int,
    window: timedelta,
    lockout: timedelta | None = None,
    now: datetime | None = None,
) -> Taken:
    """Spend one of ``limit`` attempts per ``window``; the attempt that reaches the limit
    starts a ``lockout`` (default: the window) from now. Flushes; the caller commits."""
    now = now or utcnow()
    lockout = window if lockout is None else lockout
    insert_ignoring_duplicates(session, _T, [{"key": counter, "count": 0, "resets_at": now}])
    expired = _T.c.resets_at <= now
    row = session.execute(
        update(_T)
        .where(_T.c.key == counter, or_(_T.c.count < limit, expired))
        .values(
            count=case((expired, 1), else_=_T.c.count + 1),
            resets_at=case(
                (expired, _at(now + (lockout if limit <= 1 else window))),
                (_T.c.count + 1 >= limit, _at(now + lockout)),
                else_=_T.c.resets_at,
            ),
        )
        .returning(_T.c.count)
    ).first()
    if row is not None:
        return Taken(True)
    return Taken(False, max(1, wait_s(session, counter, limit=limit, now=now)))


def wait_s(session: Session, counter: str, *, limit: int, now: datetime | None = None) -> int:
    """Seconds until ``counter`` allows an attempt again; 0 when it allows one now."""
    now = now or utcnow()
    row = session.execute(
        select(_T.c.count, _T.c.resets_at).where(_T.c.key == counter)
    ).one_or_none()
    if row is None or row.resets_at <= now or row.count < limit:
        return 0
    return max(1, math.ceil((row.resets_at - now).total_seconds()))


def give_back(session: Session, counter: str) -> None:
    """Return one attempt (the guarded work succeeded, or never happened)."""
    session.execute(
        update(_T)
        .where(_T.c.key == counter, _T.c.count > 0)
        .values(count=_T.c.count - 1)
        .execution_options(synchronize_session=False)
    )


def clear(session: Session, counter: str) -> None:
    """Forget the attempts of ``counter`` (a right password or code ends a lockout count)."""
    session.execute(
        update(_T)
        .where(_T.c.key == counter)
        .values(count=0)
        .execution_options(synchronize_session=False)
    )


def prune(session: Session, *, older_than: timedelta = timedelta(days=1)) -> int:
    """Delete counters that reset more than ``older_than`` ago (successful log-ins sweep)."""
    result = session.execute(delete(_T).where(_T.c.resets_at < utcnow() - older_than))
    return max(result.rowcount, 0)
