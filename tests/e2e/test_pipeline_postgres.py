"""The pipeline on PostgreSQL: two ingest processes writing at once, one killed for good."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from backend.core import migrate
from tests.conftest import PostgresServer, Processes
from tests.e2e.conftest import push_and_break


@pytest.fixture
def fleet_db_url(postgres_server: PostgresServer) -> str:
    url = postgres_server.new_database()
    migrate.upgrade(url)
    return url


@pytest.mark.slow
def test_one_of_two_ingests_dies_and_never_returns_on_postgresql(
    fleet: Processes, fleet_db: Engine
) -> None:
    assert fleet_db.dialect.name == "postgresql"
    push_and_break(
        fleet, fleet_db, lambda: fleet.kill("ingest-2"), ingests=("ingest-1", "ingest-2")
    )
    assert fleet.alive("ingest-1")
