from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from backend.api.main import create_app
from backend.core.config import Settings


@pytest.fixture
def api(fleet_db_url: str) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=fleet_db_url))
    with TestClient(app) as client:
        yield client
