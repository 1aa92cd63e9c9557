"""Binding a phone to a citizen (实名绑定) needs proof of control, and the tests attack it.

Every test runs on SQLite and PostgreSQL. The attacker knows the victim's name and
identity number (both are on forms and photocopies) and logs in with a phone of
their own; the victim's registered number receives the codes (sms.jsonl).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from backend.core.db import make_engine, make_sessionmaker
from backend.gov.providers import FaceSubject, SandboxFaceCheck
from backend.models import (
    BindingChallenge,
    CitizenAccessLog,
    CitizenAccount,
    CitizenToken,
    PhoneBinding,
)
from backend.models.base import utcnow
from backend.services import bindings
from backend.services.citizens import CitizenRefused
from tests.backend.gov_fixtures import WANG_XIAOHONG, ZHANG_SAN, ZHAO_MIN, Gov, make_gov

ATTACKER = "13912340000"
PHONE_2, PHONE_3, PHONE_4 = "13611110002", "13611110003", "13611110004"


@pytest.fixture
def gov(fleet_db_url: str, kiosk_ca: Path, tmp_path: Path) -> Iterator[Gov]:
    """The backend with the demo data; codes may be asked again at once (no 60 s wait)."""
    g = make_gov(fleet_db_url, kiosk_ca, tmp_path, sms_min_interval_s=0, sms_max_per_hour=50)
    with g.client:
        yield g


def who(person: dict[str, str]) -> dict[str, str]:
    return {"name": person["name"], "id_number": person["id_number"]}


def bindings_of(gov: Gov, citizen_id: str) -> list[PhoneBinding]:
    with gov.sessions()() as session:
        return list(
            session.scalars(
                select(PhoneBinding).where(
                    PhoneBinding.citizen_id == citizen_id, PhoneBinding.revoked_at.is_(None)
                )
            )
        )


def test_the_registered_number_binds_at_once_and_another_phone_needs_its_code(gov: Gov) -> None:
    own = gov.app_login(ZHANG_SAN)  # logged in with 13800138000, the registered number
    assert gov.client.get("/api/v1/citizen/me", headers=own).status_code == 200
    other = gov.phone_login(PHONE_2)
    offer = gov.client.post("/api/v1/app/real-name", json=who(ZHANG_SAN), headers=other)
    assert offer.status_code == 200, offer.text
    body = offer.json()
    assert body["bound"] is False and body["citizen_id"] is None
    assert body["proofs"] == [
        {"method": "sms", "phone_masked": "138****8000"},
        {"method": "face", "phone_masked": None},
    ]
    assert gov.client.get("/api/v1/citizen/me", headers=other).status_code == 403
    bound = gov.bind_by_code(other, ZHANG_SAN)
    assert bound["bound"] and bound["proof"] == "sms" and bound["citizen_id"] == ZHANG_SAN["id"]
    assert gov.client.get("/api/v1/citizen/me", headers=other).json()["id"] == ZHANG_SAN["id"]
    # the code's SMS named the phone asking, masked, and never the whole number
    code_sms = gov.sms.texts(ZHANG_SAN["phone"])[-2]
    assert "136****0002" in code_sms and PHONE_2 not in code_sms
    # the registered number and the inbox heard of both bindings
    notice = gov.sms.texts(ZHANG_SAN["phone"])[-1]
    assert "136****0002" in notice and "绑定了您的实名身份" in notice
    inbox = gov.client.get("/api/v1/citizen/notifications", headers=own).json()
    assert [n["title"] for n in inbox if n["kind"] == "binding"] == ["新手机绑定提醒"] * 2
    # a log-in later keeps the binding
    again = gov.phone_login(PHONE_2)
    assert gov.client.get("/api/v1/citizen/me", headers=again).status_code == 200


def test_name_and_identity_number_alone_never_bind(gov: Gov) -> None:
    """1,000 offers with the right name and number, 1,000 confirmations without the code."""
    headers = gov.phone_login(ATTACKER)
    statuses: Counter[int] = Counter()
    for _ in range(1000):
        r = gov.client.post("/api/v1/app/real-name", json=who(ZHANG_SAN), headers=headers)
        statuses[r.status_code] += 1
        assert r.status_code != 200 or r.json()["bound"] is False
    assert statuses == Counter({200: 1000})
    real = None
    challenge_id = None
    outcomes: Counter[str] = Counter()
    for i in range(1000):
        if challenge_id is None or i % 7 == 0:
            sent = gov.client.post(
                "/api/v1/app/real-name/sms-code", json=who(ZHANG_SAN), headers=headers
            )
            if sent.status_code == 202:
                challenge_id = sent.json()["challenge_id"]
                real = gov.binding_code(ZHANG_SAN["phone"])
            else:
                outcomes[sent.json()["detail"]["reason"]] += 1
        if challenge_id is None:
            continue
        guess = None if i % 2 else f"{(int(real or '0') + 1 + i) % 10**6:06d}"
        if guess == real:
            guess = None
        body = {"challenge_id": challenge_id, **({"code": guess} if guess else {})}
        r = gov.client.post("/api/v1/app/real-name/confirm", json=body, headers=headers)
        assert r.status_code in (403, 429), r.text  # never bound, never a log-out (401)
        outcomes[r.json()["detail"]["reason"]] += 1
    assert bindings_of(gov, ZHANG_SAN["id"]) == []
    assert gov.client.get("/api/v1/citizen/licences", headers=headers).status_code == 403
    with gov.sessions()() as session:
        tried = session.scalar(select(func.sum(BindingChallenge.attempts)))
    # the lockout after 5 wrong codes held: only a handful of guesses were ever compared
    assert tried == gov.settings.login_max_failures
    assert outcomes["bind_code_wrong"] == gov.settings.login_max_failures - 1
    assert outcomes["bind_locked"] > 900


def test_brute_forcing_a_code_locks_after_the_limit(gov: Gov) -> None:
    headers = gov.phone_login(ATTACKER)
    sent = gov.client.post(
        "/api/v1/app/real-name/sms-code", json=who(WANG_XIAOHONG), headers=headers
    )
    challenge_id, real = sent.json()["challenge_id"], gov.binding_code(WANG_XIAOHONG["phone"])
    wrong = [f"{n:06d}" for n in range(10**6) if f"{n:06d}" != real][:5]
    messages = []
    for guess in wrong:
        r = gov.client.post(
            "/api/v1/app/real-name/confirm",
            json={"challenge_id": challenge_id, "code": guess},
            headers=headers,
        )
        messages.append((r.status_code, r.json()["detail"]["message"]))
    assert messages[0] == (403, "验证码不正确，还可尝试 4 次")
    assert messages[-1][0] == 429 and "分钟后再试" in messages[-1][1]
    # the right code is now worthless, and no new code is sent while locked
    late = gov.client.post(
        "/api/v1/app/real-name/confirm",
        json={"challenge_id": challenge_id, "code": real},
        headers=headers,
    )
    assert late.status_code == 429
    more = gov.client.post(
        "/api/v1/app/real-name/sms-code", json=who(WANG_XIAOHONG), headers=headers
    )
    assert more.status_code == 429 and more.json()["detail"]["reason"] == "bind_locked"
    assert bindings_of(gov, WANG_XIAOHONG["id"]) == []
    # once the lockout has passed, a fresh code (the real owner's) binds
    with gov.sessions().begin() as session:
        session.execute(update(CitizenAccount).values(bind_locked_until=utcnow()))
    assert gov.bind_by_code(headers, WANG_XIAOHONG)["bound"]


def test_parallel_guesses_spend_at_most_the_allowed_tries(gov: Gov) -> None:
    """40 wrong codes at once, each in its own session: the conditional UPDATE counts them."""
    headers = gov.phone_login(ATTACKER)
    sent = gov.client.post("/api/v1/app/real-name/sms-code", json=who(ZHAO_MIN), headers=headers)
    challenge_id, real = sent.json()["challenge_id"], gov.binding_code(ZHAO_MIN["phone"])
    guesses = [f"{n:06d}" for n in range(100) if f"{n:06d}" != real][:40]
    engine = make_engine(gov.database_url, pool_size=10, max_overflow=40)
    sessions = make_sessionmaker(engine)
    policy = bindings.BindingPolicy(max_attempts=5)
    results: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(len(guesses))

    def guess(code: str) -> None:
        with sessions() as session:
            account = session.scalar(select(CitizenAccount))
            token = session.scalar(select(CitizenToken).where(CitizenToken.account_id.is_not(None)))
            assert account is not None and token is not None
            start.wait()
            try:
                bindings.confirm(
                    session, gov.keys, gov.sms, None, None, policy, account, token,
                    challenge_id=challenge_id, code=code,
                )  # fmt: skip
                outcome = "bound"
            except CitizenRefused as err:
                outcome = err.code
            session.rollback()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=guess, args=(g,)) for g in guesses]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    engine.dispose()
    counts = Counter(results)
    with gov.sessions()() as session:
        challenge = session.get(BindingChallenge, challenge_id)
    assert challenge is not None and challenge.attempts == 5
    assert counts["bound"] == 0
    assert counts["bind_code_wrong"] + counts["bind_locked"] == 40
    assert counts["bind_code_wrong"] <= 4  # the fifth wrong guess answers "locked"


def test_a_fourth_phone_is_refused_until_one_is_revoked(gov: Gov) -> None:
    own = gov.app_login(ZHANG_SAN)
    second, third = gov.phone_login(PHONE_2), gov.phone_login(PHONE_3)
    gov.bind_by_code(second, ZHANG_SAN)
    gov.bind_by_code(third, ZHANG_SAN)
    fourth = gov.phone_login(PHONE_4)
    full = gov.client.post("/api/v1/app/real-name", json=who(ZHANG_SAN), headers=fourth)
    assert full.status_code == 409
    assert full.json()["detail"] == {
        "reason": "phones_full",
        "message": "您的实名身份已绑定 3 部手机，已达上限。"
        "请先在已绑定的手机上进入「我的 → 已绑定手机」解除一部，再来绑定。",
    }
    code = gov.client.post("/api/v1/app/real-name/sms-code", json=who(ZHANG_SAN), headers=fourth)
    assert code.status_code == 409  # no code is even sent
    listed = gov.client.get("/api/v1/citizen/bindings", headers=own).json()["items"]
    assert [b["phone_masked"] for b in listed] == ["138****8000", "136****0002", "136****0003"]
    assert [b["current"] for b in listed] == [True, False, False]
    gone = gov.client.delete(f"/api/v1/citizen/bindings/{listed[2]['id']}", headers=own)
    assert gone.status_code == 204
    assert gov.bind_by_code(fourth, ZHANG_SAN)["bound"]
    assert len(bindings_of(gov, ZHANG_SAN["id"])) == 3


def test_a_limit_of_one_is_a_setting(fleet_db_url: str, kiosk_ca: Path, tmp_path: Path) -> None:
    g = make_gov(fleet_db_url, kiosk_ca, tmp_path, max_phones_per_citizen=1)
    with g.client:
        g.app_login(ZHANG_SAN)
        other = g.phone_login(PHONE_2)
        r = g.client.post("/api/v1/app/real-name", json=who(ZHANG_SAN), headers=other)
        assert r.status_code == 409 and "已绑定 1 部手机" in r.json()["detail"]["message"]


def test_a_revoked_phone_reads_nothing_at_once(gov: Gov) -> None:
    own = gov.app_login(ZHANG_SAN)
    lost = gov.phone_login(PHONE_2)
    gov.bind_by_code(lost, ZHANG_SAN)
    for path in ("/me", "/applications", "/licences", "/notifications"):
        assert gov.client.get(f"/api/v1/citizen{path}", headers=lost).status_code == 200
    listed = gov.client.get("/api/v1/citizen/bindings", headers=lost).json()["items"]
    target = next(b for b in listed if b["phone_masked"] == "136****0002")
    assert target["current"] and target["last_used_at"] is not None
    assert (
        gov.client.delete(f"/api/v1/citizen/bindings/{target['id']}", headers=own).status_code
        == 204
    )
    for path in ("/me", "/applications", "/licences", "/notifications", "/bindings"):
        r = gov.client.get(f"/api/v1/citizen{path}", headers=lost)
        assert r.status_code == 401, (path, r.text)
    # a new log-in of that phone is unbound; revoking twice, or another citizen's phone, is 404
    relogged = gov.phone_login(PHONE_2)
    assert gov.client.get("/api/v1/citizen/licences", headers=relogged).status_code == 403
    assert (
        gov.client.delete(f"/api/v1/citizen/bindings/{target['id']}", headers=own).status_code
        == 404
    )
    wang = gov.app_login(WANG_XIAOHONG)
    zhang_own = gov.client.get("/api/v1/citizen/bindings", headers=own).json()["items"][0]["id"]
    assert (
        gov.client.delete(f"/api/v1/citizen/bindings/{zhang_own}", headers=wang).status_code == 404
    )
    assert gov.client.get("/api/v1/citizen/me", headers=own).status_code == 200
    # even a token the revocation missed cannot read through a dead binding
    gov.bind_by_code(relogged, ZHANG_SAN)
    with gov.sessions().begin() as session:
        session.execute(
            update(PhoneBinding)
            .where(PhoneBinding.proof == "sms", PhoneBinding.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
    assert gov.client.get("/api/v1/citizen/licences", headers=relogged).status_code == 401
    inbox = gov.client.get("/api/v1/citizen/notifications", headers=own).json()
    assert any(n["title"] == "手机已解除绑定" and "136****0002" in n["body"] for n in inbox)


def test_a_code_for_one_citizen_or_phone_is_worthless_for_another(gov: Gov) -> None:
    attacker = gov.phone_login(ATTACKER)
    # the attacker controls citizen A's number (A is the attacker), and wants B's data
    for_a = gov.client.post("/api/v1/app/real-name/sms-code", json=who(ZHAO_MIN), headers=attacker)
    code_a = gov.binding_code(ZHAO_MIN["phone"])
    for_b = gov.client.post(
        "/api/v1/app/real-name/sms-code", json=who(WANG_XIAOHONG), headers=attacker
    )
    assert for_a.status_code == for_b.status_code == 202
    assert code_a != gov.binding_code(WANG_XIAOHONG["phone"])
    wrong = gov.client.post(
        "/api/v1/app/real-name/confirm",
        json={"challenge_id": for_b.json()["challenge_id"], "code": code_a},
        headers=attacker,
    )
    assert wrong.status_code == 403 and wrong.json()["detail"]["reason"] == "bind_code_wrong"
    # A's challenge was superseded by B's: A's own code no longer works either
    stale = gov.client.post(
        "/api/v1/app/real-name/confirm",
        json={"challenge_id": for_a.json()["challenge_id"], "code": code_a},
        headers=attacker,
    )
    assert stale.status_code == 403 and stale.json()["detail"]["reason"] == "bind_code_expired"
    # a challenge and its code taken to another phone are nothing there
    other = gov.phone_login(PHONE_2)
    code_b = gov.binding_code(WANG_XIAOHONG["phone"])
    elsewhere = gov.client.post(
        "/api/v1/app/real-name/confirm",
        json={"challenge_id": for_b.json()["challenge_id"], "code": code_b},
        headers=other,
    )
    assert elsewhere.status_code == 404
    assert bindings_of(gov, WANG_XIAOHONG["id"]) == bindings_of(gov, ZHAO_MIN["id"]) == []
    # an expired code is refused even when right
    fresh = gov.client.post(
        "/api/v1/app/real-name/sms-code", json=who(WANG_XIAOHONG), headers=other
    )
    with gov.sessions().begin() as session:
        session.execute(update(BindingChallenge).values(expires_at=utcnow() - timedelta(seconds=1)))
    late = gov.client.post(
        "/api/v1/app/real-name/confirm",
        json={
            "challenge_id": fresh.json()["challenge_id"],
            "code": gov.binding_code(WANG_XIAOHONG["phone"]),
        },
        headers=other,
    )
    assert late.status_code == 403 and late.json()["detail"]["reason"] == "bind_code_expired"


def test_a_face_check_binds_only_the_registry_entrys_own_face(gov: Gov) -> None:
    sandbox = SandboxFaceCheck(gov.keys.signing)
    headers = gov.phone_login(ATTACKER)

    def start() -> dict[str, str]:
        r = gov.client.post("/api/v1/app/real-name/face-check", json=who(ZHAO_MIN), headers=headers)
        assert r.status_code == 201, r.text
        return r.json()

    def confirm(challenge: dict[str, str], result: str, face_session: str | None = None) -> dict:
        r = gov.client.post(
            "/api/v1/app/real-name/confirm",
            json={
                "challenge_id": challenge["challenge_id"],
                "face_session": face_session or challenge["face_session"],
                "face_result": result,
            },
            headers=headers,
        )
        return {"status": r.status_code, **r.json()}

    first = start()
    someone_else = sandbox.capture(first["face_session"], face_of=WANG_XIAOHONG["id"])
    assert confirm(first, someone_else)["detail"]["reason"] == "face_not_matched"
    assert confirm(first, "fr.forged.AAAA")["detail"]["reason"] == "face_not_matched"
    second = start()
    from_old_session = sandbox.capture(first["face_session"], face_of=ZHAO_MIN["id"])
    assert confirm(second, from_old_session)["status"] == 403
    # the right face, but a session opened for someone else, is refused too
    forged = sandbox.begin(sandbox_subject(WANG_XIAOHONG), 300).token
    assert confirm(second, sandbox.capture(forged, ZHAO_MIN["id"]), forged)["status"] == 403
    assert bindings_of(gov, ZHAO_MIN["id"]) == []
    own_face = sandbox.capture(second["face_session"], face_of=ZHAO_MIN["id"])
    done = confirm(second, own_face)
    assert done["status"] == 200 and done["bound"] and done["proof"] == "face"
    assert gov.client.get("/api/v1/citizen/me", headers=headers).json()["id"] == ZHAO_MIN["id"]


def sandbox_subject(person: dict[str, str]) -> FaceSubject:
    return FaceSubject(person["id"], person["name"])


def test_codes_are_stored_hashed_never_logged_and_every_step_is_audited(
    gov: Gov, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    headers = gov.phone_login(PHONE_2)
    sent = gov.client.post("/api/v1/app/real-name/sms-code", json=who(ZHANG_SAN), headers=headers)
    code = gov.binding_code(ZHANG_SAN["phone"])
    assert code is not None
    gov.client.post(
        "/api/v1/app/real-name/confirm",
        json={"challenge_id": sent.json()["challenge_id"], "code": "000000" if code != "000000" else "111111"},
        headers=headers,
    )  # fmt: skip
    gov.bind_by_code(headers, ZHANG_SAN)
    assert code not in caplog.text and ZHANG_SAN["phone"] not in caplog.text
    with gov.sessions()() as session:
        challenge = session.get(BindingChallenge, sent.json()["challenge_id"])
        assert challenge is not None
        assert code not in challenge.secret_hash
        assert challenge.secret_hash != hashlib.sha256(code.encode()).hexdigest()
        account = session.scalar(
            select(CitizenAccount).where(CitizenAccount.phone_masked == "136****0002")
        )
        assert account is not None and PHONE_2 not in (account.phone_enc + account.phone_hash)
        assert gov.keys.decrypt(account.phone_enc) == PHONE_2
        actions = session.scalars(
            select(CitizenAccessLog.action).where(CitizenAccessLog.citizen_id == ZHANG_SAN["id"])
        ).all()
    for action in ("real_name.code_sent", "real_name.proof_refused", "real_name.bind"):
        assert action in actions
    listed = gov.client.get("/api/v1/citizen/bindings", headers=headers)
    assert PHONE_2 not in listed.text and ZHANG_SAN["phone"] not in listed.text
    log = gov.client.get("/api/v1/citizen/access-log", headers=headers).json()
    assert log[1]["action"] == "bindings.list"
    assert any(e["who"] == "手机 136****0002（实名绑定）" for e in log)


def test_a_phone_binds_one_citizen_only(gov: Gov) -> None:
    headers = gov.app_login(ZHANG_SAN)
    other = gov.client.post("/api/v1/app/real-name", json=who(WANG_XIAOHONG), headers=headers)
    assert other.status_code == 409 and other.json()["detail"]["reason"] == "already_bound"
    same = gov.client.post("/api/v1/app/real-name", json=who(ZHANG_SAN), headers=headers)
    assert same.status_code == 200 and same.json()["bound"]
    assert len(bindings_of(gov, ZHANG_SAN["id"])) == 1


def test_parallel_wrong_names_spend_at_most_the_allowed_tries(gov: Gov) -> None:
    """40 wrong name/number pairs at once: the registry is asked at most 5 times."""
    gov.phone_login(ATTACKER)
    engine = make_engine(gov.database_url, pool_size=10, max_overflow=40)
    sessions = make_sessionmaker(engine)
    policy = bindings.BindingPolicy(max_attempts=5)
    results: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(40)

    def guess(n: int) -> None:
        with sessions() as session:
            account = session.scalar(select(CitizenAccount))
            assert account is not None
            start.wait()
            try:
                bindings.match_registry(
                    session,
                    gov.keys,
                    policy,
                    account,
                    name=f"路人{n}",
                    id_number=ZHAO_MIN["id_number"],
                )
                outcome = "matched"
            except CitizenRefused as err:
                outcome = err.code
            session.rollback()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    engine.dispose()
    counts = Counter(results)
    assert counts["matched"] == 0
    assert counts["real_name_mismatch"] <= 5 and counts["bind_locked"] >= 35, counts
    # and the right pair is refused too while locked
    with gov.sessions()() as session:
        account = session.scalar(select(CitizenAccount))
        with pytest.raises(CitizenRefused) as refused:
            bindings.match_registry(session, gov.keys, policy, account, **who(ZHAO_MIN))
    assert refused.value.code == "bind_locked"
