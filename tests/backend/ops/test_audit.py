"""The hash-chained audit log: appended in order, verified, and tampering is found and named."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from backend.services import audit

BIN = Path(sys.executable).parent


def _fill(engine: Engine, n: int = 5) -> None:
    with Session(engine) as session:
        for i in range(n):
            audit.record(
                session,
                actor="user:alice",
                action="command.send",
                target=f"k110101-000{i}",
                detail={"name": "lock", "i": i, "note": "锁定"},
            )
        session.commit()


def _verify(engine: Engine) -> audit.Verdict:
    with Session(engine) as session:
        return audit.verify(session)


def test_entries_chain_and_verify(fleet_db: Engine) -> None:
    assert _verify(fleet_db).ok and _verify(fleet_db).entries == 0
    _fill(fleet_db)
    verdict = _verify(fleet_db)
    assert verdict.ok and verdict.entries == 5
    with Session(fleet_db) as session:
        entries = audit.recent(session, limit=10)
    assert [e.seq for e in entries] == [5, 4, 3, 2, 1]
    assert entries[0].prev_hash == entries[1].hash  # chained


def test_a_changed_entry_is_named(fleet_db: Engine) -> None:
    _fill(fleet_db)
    with fleet_db.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'user:mallory' WHERE seq = 3"))
    verdict = _verify(fleet_db)
    assert not verdict.ok and verdict.first_bad_seq == 3 and "changed" in verdict.reason


def test_a_removed_entry_is_named(fleet_db: Engine) -> None:
    _fill(fleet_db)
    with fleet_db.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    verdict = _verify(fleet_db)
    assert not verdict.ok and verdict.first_bad_seq == 2 and "missing" in verdict.reason


def test_removing_the_newest_entries_is_found(fleet_db: Engine) -> None:
    _fill(fleet_db)
    with fleet_db.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq >= 4"))
    verdict = _verify(fleet_db)
    assert not verdict.ok and verdict.first_bad_seq == 4 and "removed" in verdict.reason


def test_a_recomputed_hash_still_breaks_the_chain(fleet_db: Engine) -> None:
    """Rewriting an entry and its own hash is not enough: the next entry points to the old hash."""
    _fill(fleet_db)
    with Session(fleet_db) as session:
        (e,) = [x for x in audit.recent(session, limit=10) if x.seq == 2]
        forged = audit.entry_hash(
            e.prev_hash, e.seq, e.ts, "user:mallory", e.action, e.target, e.detail
        )
    with fleet_db.begin() as conn:
        conn.execute(
            text("UPDATE audit_log SET actor = 'user:mallory', hash = :h WHERE seq = 2"),
            {"h": forged},
        )
    verdict = _verify(fleet_db)
    assert not verdict.ok and verdict.first_bad_seq == 3


def test_cli_verify_exit_codes(fleet_db: Engine, fleet_db_url: str) -> None:
    _fill(fleet_db, 3)
    env = {**os.environ, "FLEET_DATABASE_URL": fleet_db_url}
    ok = subprocess.run(
        [BIN / "fleet-backend", "audit", "verify"], env=env, capture_output=True, text=True
    )
    assert ok.returncode == 0 and "3 entries" in ok.stdout
    with fleet_db.begin() as conn:
        conn.execute(text("UPDATE audit_log SET target = 'k-other' WHERE seq = 1"))
    bad = subprocess.run(
        [BIN / "fleet-backend", "audit", "verify"], env=env, capture_output=True, text=True
    )
    assert bad.returncode == 1 and "entry 1" in bad.stderr


def test_the_audit_page_verifies_on_demand(ops_client, users: dict, fleet_db: Engine) -> None:  # type: ignore[no-untyped-def]
    from tests.backend.ops.conftest import login

    login(ops_client, "admin1")
    page = ops_client.get("/ops/audit")
    assert "user:admin1" in page.text and "login" in page.text and 'id="verify"' in page.text
    assert "哈希链校验通过" in ops_client.get("/ops/audit", params={"verify": 1}).text
    with fleet_db.begin() as conn:
        conn.execute(text("UPDATE audit_log SET action = 'nothing' WHERE seq = 1"))
    assert "哈希链校验失败：第 1 条" in ops_client.get("/ops/audit", params={"verify": 1}).text
