"""Migration 0008 keeps only the bindings a log-in proved, and undoes the others."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from backend.core import migrate
from backend.core.db import make_engine

CITIZEN = (
    "INSERT INTO citizens (id, name, id_number_enc, id_number_hash, id_number_masked, phone_enc,"
    " phone_hash, phone_masked, gender, region_code, created_at) VALUES (:id, '张三', 'enc', :ih,"
    " '110105********002X', 'enc', :ph, '138****8000', 'F', '110105', CURRENT_TIMESTAMP)"
)
ACCOUNT = (
    "INSERT INTO citizen_accounts (id, phone_hash, phone_enc, phone_masked, citizen_id, created_at,"
    " bound_at, bind_failures) VALUES (:id, :ph, 'enc', :masked, 'c1', CURRENT_TIMESTAMP,"
    " CURRENT_TIMESTAMP, 0)"
)
TOKEN = (
    "INSERT INTO citizen_tokens (token_hash, channel, citizen_id, account_id, created_at,"
    " expires_at) VALUES (:t, 'app', 'c1', :a, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
)


@pytest.fixture(params=["sqlite", "postgresql"])
def blank_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fleet.db'}"
    return request.getfixturevalue("postgres_server").new_database()


def test_only_bindings_proved_by_the_registered_number_survive(blank_db_url: str) -> None:
    migrate.upgrade(blank_db_url, "0006")
    engine = make_engine(blank_db_url)
    with engine.begin() as db:
        db.execute(text(CITIZEN), {"id": "c1", "ih": "i" * 64, "ph": "p" * 64})
        # the registered number's own account, and a stranger who knew the name and number
        db.execute(text(ACCOUNT), {"id": "a-own", "ph": "p" * 64, "masked": "138****8000"})
        db.execute(text(ACCOUNT), {"id": "a-stranger", "ph": "s" * 64, "masked": "131****0000"})
        db.execute(text(TOKEN), {"t": "t-own", "a": "a-own"})
        db.execute(text(TOKEN), {"t": "t-stranger", "a": "a-stranger"})
    migrate.upgrade(blank_db_url)
    with engine.connect() as db:
        bindings = db.execute(text("SELECT account_id, proof, slot FROM phone_bindings")).all()
        accounts = dict(db.execute(text("SELECT id, citizen_id FROM citizen_accounts")).all())
        tokens = {
            row[0]: (row[1], row[2] is not None)
            for row in db.execute(
                text("SELECT token_hash, binding_id, revoked_at FROM citizen_tokens")
            )
        }
    engine.dispose()
    assert bindings == [("a-own", "login_phone", 1)]
    assert accounts == {"a-own": "c1", "a-stranger": None}
    assert tokens == {"t-own": ("a-own", False), "t-stranger": (None, True)}
