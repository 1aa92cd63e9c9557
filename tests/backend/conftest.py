"""Backend tests run against SQLite and PostgreSQL alike: SQL that runs on one must run on both."""

from __future__ import annotations

import pytest


@pytest.fixture
def fleet_db_url(any_db_url: str) -> str:
    return any_db_url
