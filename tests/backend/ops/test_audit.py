"""The keyed audit log against someone who can write the database (SQL straight into it).

Every attack here is plain SQL with full write access, on SQLite and
PostgreSQL (``fleet_db`` is parametrized over both); the audit key lives in
the test's FLEET_CA_DIR (tests/conftest.py ``audit_key_home``), never in the
database. Each attack must be found and named; a clean chain must verify.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import Engine, MetaData, select, text
from sqlalchemy.orm import Session

from backend.models import AuditEntry
from backend.services import audit, audit_checkpoints
from backend.services.audit_chain import GENESIS, legacy_hash

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


def _verify(engine: Engine, checkpoints: Path | None = None) -> audit.Verdict:
    with Session(engine) as session:
        return audit.verify(session, checkpoint_file=checkpoints)


def _checkpoint(engine: Engine, path: Path) -> audit_checkpoints.Checkpoint | None:
    with Session(engine) as session:
        return audit.take_checkpoint(session, audit.keys_for(session), path)


def _kinds(verdict: audit.Verdict) -> set[str]:
    return {f.kind for f in verdict.findings}


def _texts(verdict: audit.Verdict) -> str:
    return "\n".join(f.text for f in verdict.findings)


def _hash(engine: Engine, seq: int) -> str:
    with engine.connect() as conn:
        return conn.execute(text("SELECT hash FROM audit_log WHERE seq = :s"), {"s": seq}).scalar()


def _renumber(engine: Engine, where: str, delta: int) -> None:
    """UPDATE seq = seq + delta in two steps (PostgreSQL checks the key row by row)."""
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE audit_log SET seq = -(seq + :d) WHERE {where}"), {"d": delta})
        conn.execute(text("UPDATE audit_log SET seq = -seq WHERE seq < 0"))


@pytest.fixture
def cp_file(tmp_path: Path) -> Path:
    return tmp_path / "checkpoints.jsonl"


# -- a clean chain ------------------------------------------------------------------------------


def test_a_clean_chain_verifies_keyed(fleet_db: Engine, cp_file: Path) -> None:
    assert _verify(fleet_db).ok and _verify(fleet_db).entries == 0
    _fill(fleet_db, 3)
    assert _checkpoint(fleet_db, cp_file) is not None
    _fill(fleet_db, 2)
    assert _checkpoint(fleet_db, cp_file) is not None
    assert _checkpoint(fleet_db, cp_file) is None  # nothing new: no line
    _fill(fleet_db, 1)
    verdict = _verify(fleet_db, cp_file)
    assert verdict.ok, _texts(verdict)
    assert (verdict.entries, verdict.keyed, verdict.legacy, verdict.checkpoints) == (6, 6, 0, 2)
    assert verdict.checkpoint is not None and verdict.checkpoint.last_seq == 5
    with Session(fleet_db) as session:
        entries = audit.recent(session, limit=10)
        keys = audit.keys_for(session)
    assert [e.seq for e in entries] == [6, 5, 4, 3, 2, 1]
    assert entries[0].prev_hash == entries[1].hash  # chained
    assert {e.key_id for e in entries} == {keys.current} and all(len(e.tags) == 80 for e in entries)


def test_legacy_unkeyed_entries_verify_and_are_labelled(fleet_db: Engine) -> None:
    """Entries of earlier versions (plain SHA-256, no key id) verify up to the first keyed one."""
    prev = GENESIS
    with fleet_db.begin() as conn:
        for seq in (1, 2, 3):
            row = {"seq": seq, "actor": "user:old", "action": "login", "target": None}
            ts = datetime(2025, 1, seq, 8, 0, 0, 123456, tzinfo=UTC)
            digest = legacy_hash(prev, seq, ts, row["actor"], row["action"], None, None)
            conn.execute(
                text(
                    "INSERT INTO audit_log (seq, ts, actor, action, target, detail, prev_hash, hash)"
                    " VALUES (:seq, :ts, :actor, :action, :target, NULL, :prev, :hash)"
                ),
                {**row, "ts": ts, "prev": prev, "hash": digest},
            )
            prev = digest
        conn.execute(text("UPDATE audit_head SET last_seq = 3, last_hash = :h"), {"h": prev})
    assert _verify(fleet_db).ok
    _fill(fleet_db, 2)
    verdict = _verify(fleet_db)
    assert verdict.ok and (verdict.legacy, verdict.keyed) == (3, 2)
    # a keyed entry rewritten as "legacy" (no key id, plain SHA-256) is not legacy
    with fleet_db.begin() as conn:
        conn.execute(text("UPDATE audit_log SET key_id = NULL, tags = NULL WHERE seq = 5"))
    verdict = _verify(fleet_db)
    assert not verdict.ok and "entry 5 is unkeyed but follows keyed entries" in _texts(verdict)


# -- the attacks --------------------------------------------------------------------------------


def test_attack_delete_the_newest_entries_and_fix_the_head(fleet_db: Engine, cp_file: Path) -> None:
    _fill(fleet_db)
    _checkpoint(fleet_db, cp_file)
    with fleet_db.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq >= 4"))
        conn.execute(
            text("UPDATE audit_head SET last_seq = 3, last_hash = :h"), {"h": _hash(fleet_db, 3)}
        )
    without = _verify(fleet_db)  # the head's MAC was for entry 5
    assert not without.ok and _kinds(without) == {"head_mac"}
    verdict = _verify(fleet_db, cp_file)
    assert not verdict.ok and _kinds(verdict) == {"head_mac", "cp_truncated"}
    assert "entries 4..5 were removed since" in _texts(verdict)


def test_attack_truncation_with_a_replayed_head_needs_the_checkpoint(
    fleet_db: Engine, cp_file: Path
) -> None:
    """An insider who saved the head row at entry 3 can put it back; only a checkpoint tells."""
    _fill(fleet_db, 3)
    with fleet_db.connect() as conn:
        saved = conn.execute(text("SELECT last_seq, last_hash, key_id, mac FROM audit_head")).one()
    _fill(fleet_db, 2)
    _checkpoint(fleet_db, cp_file)
    with fleet_db.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq >= 4"))
        conn.execute(
            text("UPDATE audit_head SET last_seq = :s, last_hash = :h, key_id = :k, mac = :m"),
            dict(zip(("s", "h", "k", "m"), saved, strict=True)),
        )
    assert _verify(fleet_db).ok  # the database alone cannot know: the honest limit
    verdict = _verify(fleet_db, cp_file)
    assert not verdict.ok and _kinds(verdict) == {"cp_truncated"}
    assert "entries 4..5 were removed since" in _texts(verdict)


def test_attack_rewrite_an_entry_and_rechain_with_sha256(fleet_db: Engine, cp_file: Path) -> None:
    _fill(fleet_db)
    _checkpoint(fleet_db, cp_file)
    with Session(fleet_db) as session:
        rows = {e.seq: e for e in audit.recent(session, limit=10)}
    prev = rows[1].hash
    with fleet_db.begin() as conn:
        for seq in range(2, 6):
            e = rows[seq]
            actor = "user:mallory" if seq == 2 else e.actor
            digest = legacy_hash(prev, seq, e.ts, actor, e.action, e.target, e.detail)
            conn.execute(
                text("UPDATE audit_log SET actor = :a, prev_hash = :p, hash = :h WHERE seq = :s"),
                {"a": actor, "p": prev, "h": digest, "s": seq},
            )
            prev = digest
        conn.execute(text("UPDATE audit_head SET last_hash = :h"), {"h": prev})
    verdict = _verify(fleet_db, cp_file)
    assert not verdict.ok
    assert _kinds(verdict) == {"rewritten", "rechained", "head_mac", "cp_changed"}
    texts = _texts(verdict)
    assert "entry 2 was rewritten: actor changed" in texts
    assert "entries 3..5: MAC does not verify with key" in texts and "re-chained" in texts
    assert "entry 5 differs from checkpoint #1" in texts
    assert verdict.first_bad_seq == 2


def test_attack_rewrite_one_field_in_place(fleet_db: Engine) -> None:
    _fill(fleet_db)
    with fleet_db.begin() as conn:
        conn.execute(text("UPDATE audit_log SET target = 'k-other' WHERE seq = 3"))
    verdict = _verify(fleet_db)
    assert not verdict.ok and [f.text for f in verdict.findings] == [
        "entry 3 was rewritten: target changed"
    ]
    assert verdict.findings[0].text_zh == "第 3 条被改写：对象被修改"


def test_attack_delete_a_middle_entry_and_renumber(fleet_db: Engine, cp_file: Path) -> None:
    _fill(fleet_db)
    _checkpoint(fleet_db, cp_file)
    with fleet_db.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 3"))
    _renumber(fleet_db, "seq > 3", -1)
    with fleet_db.begin() as conn:
        conn.execute(
            text("UPDATE audit_head SET last_seq = 4, last_hash = :h"), {"h": _hash(fleet_db, 4)}
        )
    verdict = _verify(fleet_db, cp_file)
    assert not verdict.ok and "renumbered" in _kinds(verdict)
    assert "entries 3..4 are entries 4..5, renumbered" in _texts(verdict)
    assert verdict.first_bad_seq == 3


def test_attack_delete_a_middle_entry_leaving_a_gap(fleet_db: Engine) -> None:
    _fill(fleet_db)
    with fleet_db.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    verdict = _verify(fleet_db)
    assert not verdict.ok and [f.text for f in verdict.findings] == ["entry 2 is missing"]


def test_attack_swap_two_entries(fleet_db: Engine) -> None:
    _fill(fleet_db)
    with fleet_db.begin() as conn:
        conn.execute(text("UPDATE audit_log SET seq = -1 WHERE seq = 2"))
        conn.execute(text("UPDATE audit_log SET seq = 2 WHERE seq = 4"))
        conn.execute(text("UPDATE audit_log SET seq = 4 WHERE seq = -1"))
    verdict = _verify(fleet_db)
    assert not verdict.ok and [f.text for f in verdict.findings] == ["entries 2 and 4 were swapped"]


def test_attack_swap_the_contents_of_two_entries(fleet_db: Engine) -> None:
    """Swapping only the readable columns (numbers and MACs stay) is a rewrite of both."""
    _fill(fleet_db)
    with fleet_db.begin() as conn:
        conn.execute(
            text(
                "UPDATE audit_log SET target = CASE seq WHEN 2 THEN 'k110101-0003' "
                "ELSE 'k110101-0001' END WHERE seq IN (2, 4)"
            )
        )
    verdict = _verify(fleet_db)
    assert [f.text for f in verdict.findings] == [
        "entry 2 was rewritten: target changed",
        "entry 4 was rewritten: target changed",
    ]


def test_attack_insert_a_forged_entry(fleet_db: Engine, cp_file: Path) -> None:
    _fill(fleet_db)
    _checkpoint(fleet_db, cp_file)
    with Session(fleet_db) as session:
        last = session.get(AuditEntry, 5)
    assert last is not None
    prev = _hash(fleet_db, 5)
    forged = legacy_hash(prev, 6, last.ts, "user:alice", "login", None, None)
    with fleet_db.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_log (seq, ts, actor, action, target, detail, prev_hash, hash,"
                " key_id, tags) VALUES (6, :ts, 'user:alice', 'login', NULL, NULL, :p, :h, :k, :t)"
            ),
            {"ts": last.ts, "p": prev, "h": forged, "k": last.key_id, "t": last.tags},
        )
        conn.execute(text("UPDATE audit_head SET last_seq = 6, last_hash = :h"), {"h": forged})
    verdict = _verify(fleet_db, cp_file)
    assert not verdict.ok and _kinds(verdict) == {"forged", "head_mac"}
    assert "entry 6 is forged" in _texts(verdict)


def test_attack_insert_an_unkeyed_entry_in_the_middle(fleet_db: Engine) -> None:
    _fill(fleet_db)
    _renumber(fleet_db, "seq >= 3", +1)
    with Session(fleet_db) as session:
        ts = session.scalars(select(AuditEntry.ts).where(AuditEntry.seq == 2)).one()
    prev = _hash(fleet_db, 2)
    forged = legacy_hash(prev, 3, ts, "user:alice", "user.create", "user:mallory", None)
    with fleet_db.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_log (seq, ts, actor, action, target, detail, prev_hash, hash)"
                " VALUES (3, :ts, 'user:alice', 'user.create', 'user:mallory', NULL, :p, :h)"
            ),
            {"ts": ts, "p": prev, "h": forged},
        )
        conn.execute(
            text("UPDATE audit_head SET last_seq = 6, last_hash = :h"), {"h": _hash(fleet_db, 6)}
        )
    verdict = _verify(fleet_db)
    texts = _texts(verdict)
    assert "entry 3 is unkeyed but follows keyed entries" in texts
    assert "entries 4..6 are entries 3..5, renumbered" in texts


def test_attack_truncate_everything(fleet_db: Engine, cp_file: Path) -> None:
    _fill(fleet_db)
    _checkpoint(fleet_db, cp_file)
    with fleet_db.begin() as conn:
        conn.execute(text("DELETE FROM audit_log"))
        conn.execute(
            text("UPDATE audit_head SET last_seq = 0, last_hash = :g, key_id = NULL, mac = NULL"),
            {"g": GENESIS},
        )
    assert _verify(fleet_db).ok  # an empty database looks new: only the checkpoint knows
    verdict = _verify(fleet_db, cp_file)
    assert not verdict.ok and [f.text for f in verdict.findings] == [
        f"checkpoint #1 ({verdict.findings[0].note}) recorded 5 entries but the log ends at "
        "entry 0: entries 1..5 were removed since"
    ]


def test_a_checkpoint_whose_signature_fails_is_named(fleet_db: Engine, cp_file: Path) -> None:
    _fill(fleet_db, 3)
    _checkpoint(fleet_db, cp_file)
    _fill(fleet_db, 2)
    _checkpoint(fleet_db, cp_file)
    lines = cp_file.read_text().splitlines()
    doctored = json.loads(lines[1])
    doctored["entries"] = doctored["last_seq"] = 4  # "the log only ever had 4 entries"
    cp_file.write_text(lines[0] + "\n" + json.dumps(doctored) + "\n")
    verdict = _verify(fleet_db, cp_file)
    assert not verdict.ok and [f.text for f in verdict.findings] == [
        "checkpoint #2 (line 2 of the file) has a bad signature: forged or altered"
    ]
    assert verdict.checkpoint is not None and verdict.checkpoint.number == 1
    with Session(fleet_db) as session, pytest.raises(audit.CheckpointRefused):
        audit.take_checkpoint(session, audit.keys_for(session), cp_file)


def test_no_checkpoint_is_signed_over_a_tampered_log(fleet_db: Engine, cp_file: Path) -> None:
    _fill(fleet_db, 3)
    _checkpoint(fleet_db, cp_file)
    _fill(fleet_db, 2)
    with fleet_db.begin() as conn:
        conn.execute(text("UPDATE audit_log SET action = 'nothing' WHERE seq = 4"))
    with pytest.raises(audit.CheckpointRefused) as refused:
        _checkpoint(fleet_db, cp_file)
    assert "entry 4 was rewritten: action changed" in str(refused.value)
    assert len(cp_file.read_text().splitlines()) == 1


def test_anyone_can_check_a_checkpoint_with_the_public_key(fleet_db: Engine, cp_file: Path) -> None:
    _fill(fleet_db, 2)
    checkpoint = _checkpoint(fleet_db, cp_file)
    assert checkpoint is not None
    public_pem = (Path(os.environ["FLEET_CA_DIR"]) / "audit-checkpoint.pub.pem").read_bytes()
    public = serialization.load_pem_public_key(public_pem)
    line = json.loads(cp_file.read_text())
    signature = base64.b64decode(line.pop("sig"))
    message = (
        b"govkiosk-audit-checkpoint/v1\n"
        + json.dumps(line, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    )
    public.verify(signature, message)  # type: ignore[union-attr]  # raises if it does not verify


def test_a_checkpoint_is_posted_to_the_external_log(fleet_db: Engine, cp_file: Path) -> None:
    received: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        received.append(json.loads(request.content))
        return httpx.Response(201)

    _fill(fleet_db, 2)
    checkpoint = _checkpoint(fleet_db, cp_file)
    assert checkpoint is not None
    client = httpx.Client(transport=httpx.MockTransport(handler))
    assert audit_checkpoints.post("https://log.example/append", checkpoint, client=client)
    assert received == [json.loads(checkpoint.line())]
    refusing = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(500)))
    assert not audit_checkpoints.post("https://log.example/append", checkpoint, client=refusing)


# -- the key ------------------------------------------------------------------------------------


def test_the_audit_key_is_not_in_the_database(fleet_db: Engine, cp_file: Path) -> None:
    _fill(fleet_db)
    _checkpoint(fleet_db, cp_file)
    with Session(fleet_db) as session:
        keys = audit.keys_for(session)
    secrets_ = [*keys.macs.values()]
    secrets_.append(
        keys.checkpoint.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
    )
    needles = set()
    for secret in secrets_:
        needles |= {secret.hex(), secret.hex().upper(), base64.b64encode(secret).decode()}
        needles |= {base64.urlsafe_b64encode(secret).decode().rstrip("=")}
    metadata = MetaData()
    metadata.reflect(fleet_db)
    assert "audit_log" in metadata.tables and len(metadata.tables) > 10
    with fleet_db.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(table.select()):
                for value in row:
                    blob = value if isinstance(value, bytes) else str(value).encode()
                    for secret in secrets_:
                        assert secret not in blob, table.name
                    for needle in needles:
                        assert needle.encode() not in blob, table.name
    sealed = (Path(os.environ["FLEET_CA_DIR"]) / "audit.keys").read_bytes()
    assert not any(n.encode() in sealed for n in needles)  # sealed with the CA passphrase


def test_without_the_key_nothing_is_recorded(
    fleet_db: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from backend.core.config import get_settings

    monkeypatch.setenv("FLEET_CA_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.delenv("FLEET_CA_PASSPHRASE")
    get_settings.cache_clear()
    with Session(fleet_db) as session, pytest.raises(audit.AuditKeyUnavailable):
        audit.record(session, actor="user:alice", action="login", target=None, detail=None)
    with fleet_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar() == 0


# -- the command line and the ops centre --------------------------------------------------------


def _cli(*argv: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FLEET_DATABASE_URL": url}
    return subprocess.run(
        [BIN / "fleet-backend", *argv], env=env, capture_output=True, text=True, timeout=60
    )


def test_cli_checkpoint_and_verify(fleet_db: Engine, fleet_db_url: str, tmp_path: Path) -> None:
    _fill(fleet_db, 3)
    first = _cli("audit", "checkpoint", url=fleet_db_url)
    assert first.returncode == 0 and "3 entries" in first.stdout, first.stderr
    again = _cli("audit", "checkpoint", url=fleet_db_url)
    assert again.returncode == 0 and "no new entries" in again.stdout
    ok = _cli("audit", "verify", url=fleet_db_url)
    assert ok.returncode == 0 and "3 entries: 3 keyed" in ok.stdout, ok.stderr
    assert "the latest, #1: 3 entries up to entry 3" in ok.stdout
    default_file = Path(os.environ["FLEET_AUDIT_CHECKPOINT_FILE"])
    copy = tmp_path / "copy.jsonl"
    copy.write_text(default_file.read_text())
    default_file.unlink()  # verify --checkpoint reads the file it is given
    with fleet_db.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 3"))
        conn.execute(
            text("UPDATE audit_head SET last_seq = 2, last_hash = :h"), {"h": _hash(fleet_db, 2)}
        )
    bad = _cli("audit", "verify", "--checkpoint", str(copy), url=fleet_db_url)
    assert bad.returncode == 1 and "entry 3 was removed since" in bad.stderr, bad.stderr
    assert "the latest, #1" in bad.stderr
    blind = _cli("audit", "verify", url=fleet_db_url)
    assert blind.returncode == 1 and "no valid checkpoint" in blind.stderr
    key = _cli("audit", "public-key", url=fleet_db_url)
    assert key.returncode == 0 and "BEGIN PUBLIC KEY" in key.stdout


def test_cli_rotate_key_keeps_old_entries_verifying(fleet_db: Engine, fleet_db_url: str) -> None:
    _fill(fleet_db, 2)
    rotated = _cli("audit", "rotate-key", url=fleet_db_url)
    assert rotated.returncode == 0, rotated.stderr
    from backend.gov.keys import load_audit_keys

    load_audit_keys.cache_clear()
    _fill(fleet_db, 2)
    verdict = _verify(fleet_db)
    assert verdict.ok and len(verdict.key_ids) == 2
    with fleet_db.connect() as conn:
        assert len({r[0] for r in conn.execute(text("SELECT key_id FROM audit_log"))}) == 2


def test_the_audit_page_and_api_show_the_verdict(ops_client, users: dict, fleet_db: Engine) -> None:  # type: ignore[no-untyped-def]
    from tests.backend.ops.conftest import login

    login(ops_client, "admin1")
    page = ops_client.get("/ops/audit")
    assert "user:admin1" in page.text and "login" in page.text and 'id="verify"' in page.text
    verified = ops_client.get("/ops/audit", params={"verify": 1}).text
    assert "哈希链校验通过" in verified and "尚无检查点" in verified
    assert ops_client.get("/api/v1/ops/audit/verify").json()["ok"]
    with Session(fleet_db) as session:
        audit.take_checkpoint(
            session,
            audit.keys_for(session),
            ops_client.app.state.settings.audit_checkpoint_file,
        )
    with fleet_db.begin() as conn:
        conn.execute(text("UPDATE audit_log SET action = 'nothing' WHERE seq = 1"))
    page = ops_client.get("/ops/audit", params={"verify": 1}).text
    assert "哈希链校验失败：第 1 条" in page and "第 1 条被改写：操作被修改" in page
    assert "已对照 1 个签名检查点" in page
    body = ops_client.get("/api/v1/ops/audit/verify").json()
    assert not body["ok"] and body["first_bad_seq"] == 1 and body["checkpoints"] == 1
    assert body["findings"][0]["kind"] == "rewritten" and body["findings"][0]["fields"] == [
        "action"
    ]
    key = ops_client.get("/api/v1/audit/checkpoint-key").json()
    assert key["algorithm"] == "Ed25519" and "BEGIN PUBLIC KEY" in key["public_key_pem"]


def test_serve_writes_checkpoints_on_its_interval(
    fleet_db: Engine, fleet_db_url: str, cp_file: Path
) -> None:
    from backend.core.config import Settings
    from backend.core.db import make_sessionmaker
    from backend.services.audit_worker import CheckpointWorker
    from tests.conftest import wait_for

    settings = Settings(
        database_url=fleet_db_url,
        audit_checkpoint_file=cp_file,
        audit_checkpoint_interval_s=0.1,
    )
    _fill(fleet_db, 2)
    worker = CheckpointWorker(make_sessionmaker(fleet_db), settings)
    worker.start()
    try:
        assert wait_for(lambda: cp_file.exists() and "last_seq" in cp_file.read_text(), 10)
        _fill(fleet_db, 1)
        assert wait_for(lambda: len(cp_file.read_text().splitlines()) == 2, 10)
    finally:
        worker.stop()
    assert [json.loads(line)["entries"] for line in cp_file.read_text().splitlines()] == [2, 3]
    assert _verify(fleet_db, cp_file).ok
