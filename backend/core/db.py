"""Engine and sessions. SQLite by default (WAL, durable commits), PostgreSQL by URL.

SQL that runs on one must run on both: dialect differences (upserts) are kept
in ``upsert`` below and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_sessionmaker(engine: Engine, info: dict[str, Any] | None = None) -> sessionmaker[Session]:
    """Sessions of ``engine``; ``info`` is given to each (the audit keys' provider, for one)."""
    return sessionmaker(engine, expire_on_commit=False, info=info or {})


def insert_ignoring_duplicates(
    session: Session, table: Table, rows: Iterable[dict[str, Any]]
) -> int:
    """INSERT rows, skipping any whose primary key is already stored; returns rows inserted."""
    return len(insert_new(session, table, rows))


def insert_new(session: Session, table: Table, rows: Iterable[dict[str, Any]]) -> list[Any]:
    """INSERT rows, skipping any whose primary key is already stored; returns the primary
    keys (tuples) of the rows actually inserted."""
    rows = list(rows)
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    key = [c.name for c in table.primary_key]
    # RETURNING lists only the rows actually inserted, on both dialects (rowcount of an
    # executemany is not reliable); SQLAlchemy sends the rows as multi-row INSERTs.
    statement = (
        insert(table).on_conflict_do_nothing(index_elements=key).returning(*table.primary_key)
    )
    return list(session.execute(statement, rows).all())
