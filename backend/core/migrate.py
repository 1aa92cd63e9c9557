"""Alembic, driven from code: ``fleet-backend db upgrade`` and the start-up check."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from backend.core.db import make_engine

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "heads") -> None:
    """Upgrade to ``revision``; "heads" takes every branch (features add theirs in parallel)."""
    command.upgrade(alembic_config(database_url), revision)


def current_revision(database_url: str) -> str | None:
    """The database's revision, or its revisions joined with "+" while branches are unmerged."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            heads = MigrationContext.configure(connection).get_current_heads()
    finally:
        engine.dispose()
    return "+".join(sorted(heads)) or None


def head_revision(database_url: str) -> str | None:
    """The code's newest revision, in the same form as :func:`current_revision`."""
    heads = ScriptDirectory.from_config(alembic_config(database_url)).get_heads()
    return "+".join(sorted(heads)) or None


def is_current(database_url: str) -> bool:
    return current_revision(database_url) == head_revision(database_url)
