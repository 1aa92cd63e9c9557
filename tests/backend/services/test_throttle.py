"""The attempt counters' contract, on SQLite and PostgreSQL, with real concurrent sessions."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from threading import Barrier

from sqlalchemy.orm import Session

from backend.core.db import make_engine, make_sessionmaker
from backend.models.base import utcnow
from backend.services import throttle

WINDOW = timedelta(minutes=15)


def test_take_allows_the_limit_then_refuses_until_the_window_ends(any_db_url: str) -> None:
    engine = make_engine(any_db_url)
    now = utcnow()
    with Session(engine) as session:
        allowed = [bool(throttle.take(session, "t:a", limit=3, window=WINDOW, now=now)) for _ in range(5)]  # fmt: skip
        assert allowed == [True, True, True, False, False]
        refused = throttle.take(session, "t:a", limit=3, window=WINDOW, now=now)
        assert refused.retry_after_s == 15 * 60
        later = now + WINDOW + timedelta(seconds=1)
        assert throttle.take(session, "t:a", limit=3, window=WINDOW, now=later)
        assert throttle.wait_s(session, "t:a", limit=3, now=later) == 0
    engine.dispose()


def test_give_back_and_clear_return_attempts(any_db_url: str) -> None:
    engine = make_engine(any_db_url)
    with Session(engine) as session:
        for _ in range(2):
            assert throttle.take(session, "t:b", limit=2, window=WINDOW)
        assert not throttle.take(session, "t:b", limit=2, window=WINDOW)
        throttle.give_back(session, "t:b")
        assert throttle.take(session, "t:b", limit=2, window=WINDOW)
        throttle.clear(session, "t:b")
        assert throttle.take(session, "t:b", limit=2, window=WINDOW)
    engine.dispose()


def test_forty_sessions_at_once_get_exactly_the_limit(any_db_url: str) -> None:
    engine = make_engine(any_db_url, pool_size=40, max_overflow=0)
    sessions = make_sessionmaker(engine)
    start = Barrier(40)

    def one(_: int) -> bool:
        with sessions() as session:
            start.wait()
            got = throttle.take(session, "t:race", limit=5, window=WINDOW)
            session.commit()
            return bool(got)

    with ThreadPoolExecutor(40) as pool:
        results = list(pool.map(one, range(40)))
    assert sum(results) == 5
    engine.dispose()
