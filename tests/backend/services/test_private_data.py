"""Personal data at rest: free text masked, form phones encrypted and revealed on record,
dead letters masked and encrypted (an admin reveals one, audited), old rows rewrapped.

Every test runs on SQLite and PostgreSQL (the ``gov`` fixture) and reads the
stored rows back with plain SQL, so what is checked is what a copy of the
database would show.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from backend.core.db import make_engine
from backend.ingest.pipeline import Raw, store_batch
from backend.models import AuditEntry, DeadLetter
from backend.services import dead_letters, private_data
from backend.services.dead_letters import _IngestKeys
from tests.backend.gov_fixtures import ID_REISSUE, ZHANG_SAN, Gov, gov

__all__ = ["gov"]

FULL_ID = ZHANG_SAN["id_number"]  # 11010519491231002X
PHONE = "13912345678"
CLEAR = (FULL_ID, PHONE, "139 1234 5678")


def _dump(g: Gov, *tables: str) -> str:
    """Every stored value of ``tables`` as one text, as a database copy would show it."""
    out = []
    with g.sessions().begin() as session:
        for table in tables:
            for row in session.execute(text(f"SELECT * FROM {table}")):
                out.extend(
                    v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in row
                )
    return "\n".join(out)


def _leaks(dump: str) -> list[str]:
    return [c for c in CLEAR if c in dump]


def test_free_text_and_form_phones_are_masked_before_storage(gov: Gov) -> None:
    citizen = gov.app_login(ZHANG_SAN)
    reviewer = gov.reviewer()
    applied = gov.client.post(
        "/api/v1/citizen/applications",
        json={
            "item_code": ID_REISSUE,
            "form": {"contact_phone": PHONE, "remark": f"身份证 {FULL_ID}，晚上打 139 1234 5678"},
        },
        headers=citizen,
    )
    assert applied.status_code == 201, applied.text
    app = applied.json()
    assert app["form"] == {
        "contact_phone": "139****5678",
        "remark": "身份证 110105********002X，晚上打 139****5678",
    }
    for to in ("accepted", "in_review", "more_material_needed"):
        moved = gov.client.post(
            f"/api/v1/review/applications/{app['receipt_no']}/transitions",
            json={"to": to, "reason": f"请致电 {PHONE} 核实，证件 {FULL_ID}"},
            headers=reviewer,
        )
        assert moved.status_code == 200, moved.text
    assert "139****5678" in moved.json()["history"][-1]["reason"]
    supplemented = gov.client.post(
        f"/api/v1/citizen/applications/{app['receipt_no']}/materials",
        json={
            "materials": [{"name": "近期免冠彩色证件照片", "source": "scan"}],
            "note": f"已补充，电话１３９１２３４５６７，证号{FULL_ID}",
        },
        headers=citizen,
    )
    assert supplemented.status_code == 200, supplemented.text
    asked = gov.client.post(
        "/api/v1/citizen/questions",
        json={"text": f"我的身份证号 {FULL_ID} 办理进度如何？手机 {PHONE}"},
        headers=citizen,
    )
    assert asked.status_code == 201, asked.text
    assert FULL_ID not in asked.json()["text"]
    rated = gov.client.post(
        "/api/v1/citizen/ratings",
        json={"level": 1, "item_code": ID_REISSUE, "comment": f"回电 {PHONE}，身份证 {FULL_ID}"},
        headers=citizen,
    )
    assert rated.status_code == 201, rated.text
    tickets = gov.client.get("/api/v1/review/questions", headers=reviewer).json()
    for ticket in tickets:
        answered = gov.client.post(
            f"/api/v1/review/questions/{ticket['id']}/answer",
            json={"answer": f"已受理，请携带 {FULL_ID} 的原件，联系 {PHONE}"},
            headers=reviewer,
        )
        assert answered.status_code == 200, answered.text
    dump = _dump(
        gov,
        "applications",
        "application_history",
        "notifications",
        "questions",
        "question_history",
        "ratings",
        "rectification_tasks",
    )
    assert "139****5678" in dump and "110105********002X" in dump
    assert _leaks(dump) == []

    # The reviewer who must call reads the clear number, and the read is on record.
    revealed = gov.client.post(
        f"/api/v1/review/applications/{app['receipt_no']}/form-private",
        json={"reason": "需电话联系申请人补正材料"},
        headers=reviewer,
    )
    assert revealed.status_code == 200, revealed.text
    assert revealed.json()["fields"]["contact_phone"] == PHONE
    assert FULL_ID in revealed.json()["fields"]["remark"]
    log = gov.client.get("/api/v1/citizen/access-log", headers=citizen).json()
    assert any(e["action"] == "application.form_revealed" for e in log)
    with gov.sessions().begin() as session:
        entry = (
            session.query(AuditEntry).filter_by(action="citizen.application.form_revealed").one()
        )
        assert "需电话联系申请人补正材料" in entry.detail["detail"]
    assert _leaks(_dump(gov, "audit_log", "citizen_access_log")) == []
    refused = gov.client.post(
        f"/api/v1/review/applications/{app['receipt_no']}/form-private",
        json={"reason": "看看"},
        headers=citizen,
    )
    assert refused.status_code in (401, 403)


def _admin(g: Gov) -> dict[str, str]:
    return g.reviewer("admin")


def test_dead_letters_are_masked_and_encrypted_and_revealed_on_record(
    gov: Gov, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dead_letters, "_ingest_keys", _IngestKeys(lambda: gov.keys))
    payload = f'{{"v":1,"id":"bad","form":{{"phone":"{PHONE}"}},"note":"{FULL_ID}"}}'.encode()
    store_batch(gov.sessions(), [Raw("kiosk/k-001/events", payload)])
    dump = _dump(gov, "dead_letters")
    assert _leaks(dump) == []
    (item,) = gov.client.get("/api/v1/ops/dead-letters", headers=_admin(gov)).json()["items"]
    assert item["protection"] == "encrypted"
    assert (
        "110105********002X" in item["payload_preview"] and "139****5678" in item["payload_preview"]
    )

    url = f"/api/v1/ops/dead-letters/{item['id']}/reveal"
    operator = gov.reviewer("operator")
    assert gov.client.post(url, json={"reason": "排查"}, headers=operator).status_code == 403
    revealed = gov.client.post(url, json={"reason": "排查终端上报格式"}, headers=_admin(gov))
    assert revealed.status_code == 200, revealed.text
    assert revealed.json()["payload_text"].encode() == payload
    with gov.sessions().begin() as session:
        entry = session.query(AuditEntry).filter_by(action="dead_letter.revealed").one()
        assert entry.target == f"dead_letter:{item['id']}"
        assert entry.detail["reason"] == "排查终端上报格式"


def test_without_keys_a_dead_letter_is_kept_masked_only(
    gov: Gov, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def unavailable() -> object:
        raise OSError("no passphrase")

    monkeypatch.setattr(dead_letters, "_ingest_keys", _IngestKeys(unavailable))
    payload = f'{{"v":1,"note":"{FULL_ID}"}}'.encode()
    result = store_batch(gov.sessions(), [Raw("kiosk/k-001/events", payload)] * 2)
    assert result.dead_letters == 2
    assert "dead letters are kept masked only" in caplog.text
    assert caplog.text.count("masked only") == 1, "logged once, not per message"
    with gov.sessions().begin() as session:
        rows = session.query(DeadLetter).all()
        assert [r.payload_protection for r in rows] == ["masked_only", "masked_only"]
        assert rows[0].payload == b'{"v":1,"note":"110105********002X"}'
    assert _leaks(_dump(gov, "dead_letters")) == []
    (item, _) = gov.client.get("/api/v1/ops/dead-letters", headers=_admin(gov)).json()["items"]
    reveal = gov.client.post(
        f"/api/v1/ops/dead-letters/{item['id']}/reveal",
        json={"reason": "排查"},
        headers=_admin(gov),
    )
    assert reveal.status_code == 404 and "仅保存了脱敏内容" in reveal.json()["detail"]


def test_rewrap_masks_and_encrypts_rows_stored_before(gov: Gov) -> None:
    citizen = gov.app_login(ZHANG_SAN)
    applied = gov.client.post(
        "/api/v1/citizen/applications", json={"item_code": ID_REISSUE}, headers=citizen
    ).json()
    with gov.sessions().begin() as session:  # rows as an older version stored them, in clear
        session.execute(
            text(
                "INSERT INTO dead_letters (received_at, topic, reason_code, reason, payload,"
                " payload_size) VALUES (:at, 't', 'bad_json', 'r', :p, 10)"
            ),
            {"at": "2026-11-01 00:00:00", "p": f"note {FULL_ID}".encode()},
        )
        session.execute(
            text("UPDATE applications SET form = :f WHERE receipt_no = :r"),
            {"f": f'{{"phone": "{PHONE}", "delivery": "post"}}', "r": applied["receipt_no"]},
        )
        session.execute(
            text("UPDATE application_history SET reason = :t"), {"t": f"证件 {FULL_ID}"}
        )
    assert _leaks(_dump(gov, "dead_letters", "applications", "application_history"))

    with gov.sessions().begin() as session:
        summary = private_data.rewrap(session, gov.keys)
    assert (summary.dead_letters, summary.forms) == (1, 1) and summary.texts >= 1
    assert _leaks(_dump(gov, "dead_letters", "applications", "application_history")) == []
    with gov.sessions().begin() as session:
        again = private_data.rewrap(session, gov.keys)
    assert (again.dead_letters, again.forms, again.texts) == (0, 0, 0)
    # the clear rows as they were are gone from the files too (write-ahead log, free pages)
    engine = make_engine(gov.database_url)
    private_data.purge_old_copies(engine)
    engine.dispose()
    if gov.database_url.startswith("sqlite:///"):
        database = Path(gov.database_url.removeprefix("sqlite:///"))
        stored = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
        assert FULL_ID.encode() not in stored and PHONE.encode() not in stored

    revealed = gov.client.post(
        f"/api/v1/review/applications/{applied['receipt_no']}/form-private",
        json={"reason": "联系申请人"},
        headers=gov.reviewer(),
    )
    assert revealed.json()["fields"] == {"phone": PHONE}
    with gov.sessions().begin() as session:
        row = session.query(DeadLetter).one()
        assert dead_letters.reveal(session, gov.keys, row.id, actor="t", reason="核对") == (
            f"note {FULL_ID}".encode()
        )
