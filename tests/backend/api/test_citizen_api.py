"""The citizen API, one for both channels: kiosk sessions, mini-app log-in, applications,
licences, ratings, notifications and questions; each citizen reaches only their own data."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from backend.models import AuditEntry, Citizen, CitizenAccessLog, CitizenToken
from backend.services import audit
from tests.backend.gov_fixtures import (
    ID_REISSUE,
    MARRIAGE,
    SSC_REISSUE,
    WANG_XIAOHONG,
    ZHANG_SAN,
    ZHAO_MIN,
    Gov,
    gov,
)

__all__ = ["gov"]


def test_a_kiosk_session_and_a_mini_app_login_reach_the_same_citizen(gov: Gov) -> None:
    auth = gov.kiosk()
    at_kiosk = gov.kiosk_session(auth, ZHANG_SAN)
    on_phone = gov.app_login(ZHANG_SAN)
    me_kiosk = gov.client.get("/api/v1/citizen/me", headers=at_kiosk, auth=auth).json()
    me_phone = gov.client.get("/api/v1/citizen/me", headers=on_phone).json()
    assert me_kiosk["id"] == me_phone["id"] == ZHANG_SAN["id"]
    assert me_kiosk["channel"] == "kiosk" and me_phone["channel"] == "app"
    assert me_phone["id_number_masked"] == "110105********002X"
    assert me_phone["phone_masked"] == "138****8000"
    assert "11010519491231002X" not in gov.client.get("/api/v1/citizen/me", headers=on_phone).text


def test_a_kiosk_token_needs_its_own_kiosks_signature(gov: Gov) -> None:
    auth = gov.kiosk()
    other = gov.kiosk()
    headers = gov.kiosk_session(auth, ZHANG_SAN)
    alone = gov.client.get("/api/v1/citizen/me", headers=headers)
    assert alone.status_code == 401 and "kiosk" in alone.json()["detail"]
    elsewhere = gov.client.get("/api/v1/citizen/me", headers=headers, auth=other)
    assert elsewhere.status_code == 401 and "another kiosk" in elsewhere.json()["detail"]
    assert gov.client.get("/api/v1/citizen/me", headers=headers, auth=auth).status_code == 200
    gone = gov.client.delete("/api/v1/kiosk/citizen-sessions/current", headers=headers, auth=auth)
    assert gone.status_code == 204
    after = gov.client.get("/api/v1/citizen/me", headers=headers, auth=auth)
    assert after.status_code == 401
    # a new session at a kiosk ends the one the last citizen left open
    first = gov.kiosk_session(auth, ZHANG_SAN)
    second = gov.kiosk_session(auth, WANG_XIAOHONG)
    assert gov.client.get("/api/v1/citizen/me", headers=first, auth=auth).status_code == 401
    me = gov.client.get("/api/v1/citizen/me", headers=second, auth=auth).json()
    assert me["id"] == WANG_XIAOHONG["id"]


def test_a_kiosk_session_is_refused_without_a_match_or_registry_entry(gov: Gov) -> None:
    auth = gov.kiosk()

    def attempt(**change: object) -> tuple[int, object]:
        body = {
            "id_number": ZHANG_SAN["id_number"],
            "name": ZHANG_SAN["name"],
            "card_type": "resident_id",
            "face": {"decision": "match", "distance": 0.3, "liveness": "passed"},
            **change,
        }
        r = gov.client.post("/api/v1/kiosk/citizen-sessions", json=body, auth=auth)
        return r.status_code, r.json()["detail"]

    status, detail = attempt(face={"decision": "no_match", "distance": 0.7, "liveness": "passed"})
    assert status == 403 and detail["reason"] == "face_not_matched"
    status, detail = attempt(face={"decision": "match", "liveness": "failed"})
    assert status == 403 and detail["reason"] == "liveness_not_passed"
    status, detail = attempt(name="李四")
    assert status == 403 and detail["reason"] == "name_mismatch"
    status, detail = attempt(id_number="110101199003070011")  # valid, but not in the registry
    assert status == 404 and detail["reason"] == "not_registered"
    status, _ = attempt(id_number="110105194912310021")  # wrong check digit
    assert status == 422
    unsigned = gov.client.post("/api/v1/kiosk/citizen-sessions", json={})
    assert unsigned.status_code in (401, 422)


def test_sms_codes_are_rate_limited_and_wrong_codes_lock_the_number(gov: Gov) -> None:
    phone = WANG_XIAOHONG["phone"]
    assert gov.client.post("/api/v1/app/auth/sms-code", json={"phone": phone}).status_code == 202
    again = gov.client.post("/api/v1/app/auth/sms-code", json={"phone": phone})
    assert again.status_code == 429 and int(again.headers["Retry-After"]) > 0
    good = gov.sms.latest_code(phone)
    wrong = "000000" if good != "000000" else "111111"
    for _ in range(gov.settings.login_max_failures):
        r = gov.client.post("/api/v1/app/auth/login", json={"phone": phone, "code": wrong})
        assert r.status_code in (401, 429), r.text
    locked = gov.client.post("/api/v1/app/auth/login", json={"phone": phone, "code": good})
    assert locked.status_code == 429 and locked.json()["detail"]["reason"] == "locked"
    bad_phone = gov.client.post("/api/v1/app/auth/sms-code", json={"phone": "12345"})
    assert bad_phone.status_code == 422


def test_real_name_binding_checks_the_registry(gov: Gov) -> None:
    headers = gov.app_login(ZHAO_MIN, bind=False)
    before = gov.client.get("/api/v1/citizen/me", headers=headers)
    assert before.status_code == 403 and "real-name" in before.json()["detail"]
    wrong = gov.client.post(
        "/api/v1/app/real-name",
        json={"name": "赵敏敏", "id_number": ZHAO_MIN["id_number"]},
        headers=headers,
    )
    assert wrong.status_code == 403
    right = gov.client.post(
        "/api/v1/app/real-name",
        json={"name": ZHAO_MIN["name"], "id_number": ZHAO_MIN["id_number"]},
        headers=headers,
    )
    assert right.status_code == 200 and right.json()["id_number_masked"] == "110102********0421"
    assert gov.client.get("/api/v1/citizen/me", headers=headers).json()["id"] == ZHAO_MIN["id"]


def test_tokens_expire(gov: Gov) -> None:
    headers = gov.app_login(ZHANG_SAN)
    assert gov.client.get("/api/v1/citizen/me", headers=headers).status_code == 200
    from backend.models.base import utcnow

    with gov.sessions().begin() as session:
        session.execute(update(CitizenToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    expired = gov.client.get("/api/v1/citizen/me", headers=headers)
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]
    # a day after expiry the rows are swept by the next log-in
    with gov.sessions().begin() as session:
        session.execute(update(CitizenToken).values(expires_at=utcnow() - timedelta(days=2)))
    gov.app_login(WANG_XIAOHONG)
    with gov.sessions()() as session:
        left = session.scalars(select(CitizenToken.citizen_id)).all()
    assert left == [WANG_XIAOHONG["id"]]


def test_instant_approval_when_every_material_is_an_e_licence(gov: Gov) -> None:
    headers = gov.app_login(ZHANG_SAN)
    r = gov.client.post(
        "/api/v1/citizen/applications",
        json={"item_code": SSC_REISSUE, "materials": [{"licence_no": "RIC-110105-2019-0001"}]},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    application = r.json()
    assert application["state"] == "delivered"  # 秒批: approved and the result delivered
    states = [h["to_state"] for h in application["history"]]
    assert states == ["submitted", "accepted", "in_review", "approved", "delivered"]
    assert {h["actor"] for h in application["history"][1:]} == {"system:秒批"}
    assert application["materials"][0]["source"] == "e_licence"
    licences = gov.client.get("/api/v1/citizen/licences", headers=headers).json()
    assert any(lic["type_code"] == "SSC" and lic["status"] == "valid" for lic in licences)
    everything = gov.client.get("/api/v1/citizen/notifications", headers=headers).json()
    notices = [n for n in everything if n["kind"] != "binding"]  # the phone's binding notice
    assert len(notices) == 5 and all(n["reference"] == application["receipt_no"] for n in notices)
    pushed = [n for n in gov.notices.read() if n["title"] != "新手机绑定提醒"]
    assert len(pushed) == 5  # and through the provider


def test_no_instant_approval_without_a_valid_licence(gov: Gov) -> None:
    headers = gov.app_login(ZHAO_MIN)  # her RIC e-licence expired in 2023
    r = gov.client.post(
        "/api/v1/citizen/applications", json={"item_code": SSC_REISSUE}, headers=headers
    )
    assert r.status_code == 201 and r.json()["state"] == "submitted"
    expired = gov.client.post(
        "/api/v1/citizen/applications",
        json={"item_code": SSC_REISSUE, "materials": [{"licence_no": "RIC-110102-2013-0101"}]},
        headers=headers,
    )
    assert expired.status_code == 422 and "expired" in expired.json()["detail"]


def test_the_same_application_is_seen_from_kiosk_and_phone(gov: Gov) -> None:
    auth = gov.kiosk()
    at_kiosk = gov.kiosk_session(auth, WANG_XIAOHONG)
    made = gov.client.post(
        "/api/v1/citizen/applications",
        json={"item_code": ID_REISSUE, "form": {"reason": "丢失"}},
        headers=at_kiosk,
        auth=auth,
    )
    assert made.status_code == 201, made.text
    made = made.json()
    assert made["channel"] == "kiosk" and made["state"] == "submitted"
    # HKB e-licence fills the 户口簿 material by itself (免提交)
    hkb = next(m for m in made["materials"] if m["name"] == "居民户口簿")
    assert hkb["source"] == "e_licence"
    on_phone = gov.app_login(WANG_XIAOHONG)
    mine = gov.client.get("/api/v1/citizen/applications", headers=on_phone).json()["items"]
    assert [a["receipt_no"] for a in mine] == [made["receipt_no"]]
    one = gov.client.get(f"/api/v1/citizen/applications/{made['receipt_no']}", headers=on_phone)
    assert one.status_code == 200 and one.json()["id"] == made["id"]


def test_a_citizen_reaches_only_their_own_data(gov: Gov) -> None:
    zhang = gov.app_login(ZHANG_SAN)
    wang = gov.app_login(WANG_XIAOHONG)
    theirs = gov.client.post(
        "/api/v1/citizen/applications", json={"item_code": ID_REISSUE}, headers=wang
    ).json()
    for key in (theirs["id"], theirs["receipt_no"]):
        r = gov.client.get(f"/api/v1/citizen/applications/{key}", headers=zhang)
        assert r.status_code == 404
    assert gov.client.get("/api/v1/citizen/applications", headers=zhang).json()["items"] == []
    # someone else's licence: not listed, no document, not usable as a material
    r = gov.client.get("/api/v1/citizen/licences/MARRIAGE-110102-2018-0088/document", headers=zhang)
    assert r.status_code == 404
    assert "MARRIAGE" not in gov.client.get("/api/v1/citizen/licences", headers=zhang).text
    r = gov.client.post(
        "/api/v1/citizen/applications",
        json={"item_code": ID_REISSUE, "materials": [{"licence_no": "HKB-110102-1988-0512"}]},
        headers=zhang,
    )
    assert r.status_code == 422
    # rating or asking about someone else's application
    r = gov.client.post(
        "/api/v1/citizen/ratings", json={"level": 1, "application": theirs["id"]}, headers=zhang
    )
    assert r.status_code == 404
    notices = gov.client.get("/api/v1/citizen/notifications", headers=zhang).json()
    assert [n["kind"] for n in notices] == ["binding"]  # only their own phone's binding
    assert gov.client.get("/api/v1/citizen/questions", headers=zhang).json() == []


def test_licence_document_carries_a_code_anyone_can_verify(gov: Gov) -> None:
    headers = gov.app_login(ZHANG_SAN)
    doc = gov.client.get(
        "/api/v1/citizen/licences/RIC-110105-2019-0001/document", headers=headers
    ).json()
    assert doc["title"].startswith("居民身份证")
    assert doc["verify_url"] == f"https://zwfw.example.gov.cn/verify/{doc['verification_code']}"
    assert {"label": "公民身份号码", "value": "110105********002X"} in doc["fields"]
    assert doc["qr_svg"].startswith("<svg")
    check = gov.client.get(f"/api/v1/verify/{doc['verification_code']}")
    assert check.status_code == 200 and check.json()["status"] == "valid"
    assert check.json()["holder"] == "张*"
    page = gov.client.get(f"/verify/{doc['verification_code']}")
    assert page.status_code == 200 and "真实有效" in page.text
    with gov.sessions()() as session:
        logged = session.scalars(
            select(CitizenAccessLog.actor).where(CitizenAccessLog.action == "licence.verify")
        ).all()
    assert logged == ["public:verify", "public:verify"]
    forged = doc["verification_code"][:-2] + (
        "AA" if not doc["verification_code"].endswith("AA") else "BB"
    )
    assert gov.client.get(f"/api/v1/verify/{forged}").status_code == 404
    assert gov.client.get(f"/verify/{forged}").status_code == 404


def test_a_bad_rating_opens_a_rectification(gov: Gov) -> None:
    headers = gov.app_login(ZHANG_SAN)
    app = gov.client.post(
        "/api/v1/citizen/applications", json={"item_code": ID_REISSUE}, headers=headers
    ).json()
    r = gov.client.post(
        "/api/v1/citizen/ratings",
        json={"level": 2, "application": app["receipt_no"], "comment": "等候时间太长"},
        headers=headers,
    )
    assert r.status_code == 201 and r.json()["rectification_opened"] is True
    twice = gov.client.post(
        "/api/v1/citizen/ratings", json={"level": 5, "application": app["id"]}, headers=headers
    )
    assert twice.status_code == 409
    good = gov.client.post(
        "/api/v1/citizen/ratings", json={"level": 5, "item_code": SSC_REISSUE}, headers=headers
    )
    assert good.status_code == 201 and good.json()["rectification_opened"] is False
    reviewer = gov.reviewer()
    tasks = gov.client.get("/api/v1/review/rectifications", headers=reviewer).json()
    assert len(tasks) == 1 and tasks[0]["department_code"] == "gaj" and tasks[0]["state"] == "open"
    assert (
        gov.client.post(
            "/api/v1/citizen/ratings", json={"level": 6, "item_code": SSC_REISSUE}, headers=headers
        ).status_code
        == 422
    )


def test_questions_answered_from_the_faq_or_routed_to_a_department(gov: Gov) -> None:
    hits = gov.client.get("/api/v1/faq", params={"q": "身份证丢了怎么补办"}).json()
    assert hits and hits[0]["id"] == "f001"
    headers = gov.app_login(ZHANG_SAN)
    known = gov.client.post(
        "/api/v1/citizen/questions", json={"text": "居民身份证丢失了怎么补办"}, headers=headers
    ).json()
    assert known["state"] == "answered" and known["answered_by_faq"]
    ticket = gov.client.post(
        "/api/v1/citizen/questions",
        json={"text": "我家老人行动不便，能否上门办理社保卡？", "item_code": SSC_REISSUE},
        headers=headers,
    ).json()
    assert ticket["state"] == "open" and ticket["department_code"] == "rsj"
    reviewer = gov.reviewer()
    moved = gov.client.post(
        f"/api/v1/review/questions/{ticket['id']}/transfer",
        json={"department": "zwfwj", "reason": "上门服务由政务服务管理局统筹"},
        headers=reviewer,
    )
    assert moved.status_code == 200 and moved.json()["department_code"] == "zwfwj"
    answer = "可以预约上门服务，请拨打 12345 登记。"
    done = gov.client.post(
        f"/api/v1/review/questions/{ticket['id']}/answer", json={"answer": answer}, headers=reviewer
    )
    assert done.status_code == 200
    mine = {q["id"]: q for q in gov.client.get("/api/v1/citizen/questions", headers=headers).json()}
    assert mine[ticket["id"]]["answer"] == answer
    notices = gov.client.get("/api/v1/citizen/notifications", headers=headers).json()
    assert any(n["kind"] == "question" and n["body"] == answer for n in notices)


def test_every_read_of_citizen_data_is_logged(gov: Gov) -> None:
    headers = gov.app_login(ZHANG_SAN)
    for path in ("/me", "/applications", "/licences", "/notifications", "/questions"):
        assert gov.client.get(f"/api/v1/citizen{path}", headers=headers).status_code == 200
    with gov.sessions()() as session:
        actions = session.scalars(
            select(CitizenAccessLog.action).where(CitizenAccessLog.citizen_id == ZHANG_SAN["id"])
        ).all()
        stored = session.get(Citizen, ZHANG_SAN["id"])
    for action in (
        "citizen.me",
        "applications.list",
        "licences.list",
        "notifications.list",
        "questions.list",
    ):
        assert action in actions
    assert stored is not None and ZHANG_SAN["id_number"] not in stored.id_number_enc
    # the same reads are in the shared hash-chained audit log, which verifies
    with gov.sessions()() as session:
        targets = session.scalars(
            select(AuditEntry.action).where(AuditEntry.target == f"citizen:{ZHANG_SAN['id']}")
        ).all()
        assert "citizen.licences.list" in targets
        assert audit.verify(session).ok
    # and the citizen can see who read their data
    log = gov.client.get("/api/v1/citizen/access-log", headers=headers).json()
    assert log[0]["action"] == "access_log.list" and log[0]["who"] == "本人（移动端）"
    assert any(e["action"] == "real_name.bind" for e in log)
    assert gov.keys.decrypt(stored.id_number_enc) == ZHANG_SAN["id_number"]


def test_bad_input_gets_a_clear_4xx(gov: Gov) -> None:
    headers = gov.app_login(ZHANG_SAN)
    cases = [
        ("post", "/api/v1/citizen/applications", {"item_code": "NOPE"}, 404),
        ("post", "/api/v1/citizen/applications", {"item_code": ""}, 422),
        (
            "post",
            "/api/v1/citizen/applications",
            {"item_code": SSC_REISSUE, "materials": [{}]},
            422,
        ),
        ("post", "/api/v1/citizen/ratings", {"level": 3}, 422),
        ("post", "/api/v1/citizen/questions", {"text": "?"}, 422),
        ("post", "/api/v1/citizen/applications", {"item_code": MARRIAGE}, 422),  # on site only
        ("post", "/api/v1/citizen/questions", {"text": "请问", "department": "nope"}, 422),
    ]
    for method, path, body, status in cases:
        r = getattr(gov.client, method)(path, json=body, headers=headers)
        assert r.status_code == status, (path, body, r.text)
        assert r.json()["detail"]
    assert gov.client.get("/api/v1/citizen/me").status_code == 401
    assert (
        gov.client.get("/api/v1/citizen/me", headers={"Authorization": "Bearer nope"}).status_code
        == 401
    )


def test_a_life_event_is_applied_for_once(gov: Gov) -> None:
    headers = gov.app_login(WANG_XIAOHONG)
    r = gov.client.post(
        "/api/v1/citizen/life-events/marriage/applications",
        json={"form": {"配偶姓名": "李明"}},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    bundle = r.json()
    assert [i["name"] for i in bundle["on_site_items"]] == ["内地居民结婚登记"]
    made = bundle["applications"]
    assert len(made) == 2 and {a["bundle_no"] for a in made} == {bundle["bundle_no"]}
    assert all(a["form"] == {"配偶姓名": "李明"} for a in made)
    # 生育服务登记 is 秒批: her RIC and marriage e-licences meet every material
    states = {a["item_name"]: a["state"] for a in made}
    assert states["生育服务登记"] == "delivered" and states["户口迁移（市内）"] == "submitted"
    mine = gov.client.get("/api/v1/citizen/applications", headers=headers).json()["items"]
    assert {a["id"] for a in mine} == {a["id"] for a in made}
    missing = gov.client.post(
        "/api/v1/citizen/life-events/nope/applications", json={}, headers=headers
    )
    assert missing.status_code == 404
