"""Log-in, sessions, CSRF, roles and region scoping, on pages and on the API."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text, update
from sqlalchemy.orm import Session

from backend.models import LoginSession
from backend.models.base import utcnow
from backend.services import tokens
from tests.backend.ops.conftest import CSRF, Feeder, login


def test_pages_send_strangers_to_the_log_in_page(ops_client: TestClient) -> None:
    for path in ("/ops/", "/ops/alerts", "/ops/enrolment", "/ops/kiosks/k110101-0001"):
        response = ops_client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/ops/login?next=")
    assert ops_client.get("/api/v1/ops/kiosks").status_code == 401
    assert ops_client.get("/api/v1/ops/fleet/charts").status_code == 401


def test_log_in_sets_a_strict_http_only_cookie_and_log_out_ends_it(
    ops_client: TestClient, users: dict, fleet_db: Engine
) -> None:
    form = ops_client.get("/ops/login")
    token = CSRF.search(form.text).group(1)
    response = ops_client.post(
        "/ops/login",
        data={
            "username": "operator1",
            "password": "correct-horse-battery",
            "csrf": token,
            "next": "//evil.example/",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/ops/"  # no open redirect
    cookie = response.headers["set-cookie"]
    assert "fleet_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    page = ops_client.get("/ops/")
    assert page.status_code == 200 and "operator1" in page.text and "值班员" in page.text
    csrf = CSRF.search(page.text).group(1)
    assert ops_client.post("/ops/logout", data={"csrf": "wrong"}).status_code == 403
    assert (
        ops_client.post("/ops/logout", data={"csrf": csrf}, follow_redirects=False).status_code
        == 303
    )
    assert ops_client.get("/ops/", follow_redirects=False).status_code == 303
    with fleet_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM login_sessions")).scalar_one() == 0


def test_wrong_password_and_missing_csrf_are_refused(ops_client: TestClient, users: dict) -> None:
    form = ops_client.get("/ops/login")
    token = CSRF.search(form.text).group(1)
    wrong = ops_client.post(
        "/ops/login",
        data={"username": "operator1", "password": "not-the-password", "csrf": token},
        follow_redirects=False,
    )
    assert wrong.status_code == 303 and "error=1" in wrong.headers["location"]
    assert "fleet_session" not in wrong.headers.get("set-cookie", "")
    no_csrf = ops_client.post(
        "/ops/login",
        data={"username": "operator1", "password": "correct-horse-battery", "csrf": "forged"},
    )
    assert no_csrf.status_code == 403


def test_expired_sessions_are_refused(
    ops_client: TestClient, users: dict, fleet_db: Engine
) -> None:
    login(ops_client, "operator1")
    with Session(fleet_db) as session:
        session.execute(update(LoginSession).values(expires_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    assert ops_client.get("/ops/", follow_redirects=False).status_code == 303
    assert ops_client.get("/api/v1/ops/alerts").status_code == 401


def test_forms_need_the_sessions_csrf_token(
    ops_client: TestClient, users: dict, feed: Feeder
) -> None:
    feed.kiosk("k110101-0001")
    feed.place()
    login(ops_client, "operator1")
    refused = ops_client.post("/ops/kiosks/k110101-0001/commands", data={"name": "lock"})
    assert (
        refused.status_code == 403
        and "CSRF 校验失败" in refused.text
        and "无权访问" in refused.text
    )
    refused = ops_client.post(
        "/ops/enrolment/codes", data={"site": "x", "region_code": "110101", "csrf": "guess"}
    )
    assert refused.status_code == 403


def test_roles_least_privilege(ops_client: TestClient, users: dict) -> None:
    login(ops_client, "operator1")
    assert ops_client.get("/ops/users").status_code == 403
    assert ops_client.get("/ops/audit").status_code == 403
    assert ops_client.get("/api/v1/ops/audit").status_code == 403
    assert ops_client.get("/ops/enrolment").status_code == 200
    ops_client.cookies.clear()
    login(ops_client, "tech1")
    assert ops_client.get("/ops/enrolment").status_code == 403
    assert ops_client.get("/api/v1/ops/dead-letters").status_code == 403
    ops_client.cookies.clear()
    login(ops_client, "admin1")
    assert ops_client.get("/ops/users").status_code == 200
    assert ops_client.get("/ops/audit").status_code == 200


def test_technicians_see_and_act_on_their_regions_only(
    ops_client: TestClient, users: dict, feed: Feeder
) -> None:
    feed.kiosk("k110101-0001")  # 东城区: tech1's
    feed.kiosk("k110102-0001")  # 西城区: not tech1's
    feed.kiosk("demo-kiosk-01")  # not placed anywhere
    feed.place()
    login(ops_client, "tech1")
    page = ops_client.get("/ops/")
    assert "k110101-0001" in page.text and "k110102-0001" not in page.text
    assert "demo-kiosk-01" not in page.text
    assert ops_client.get("/ops/kiosks/k110101-0001").status_code == 200
    refused = ops_client.get("/ops/kiosks/k110102-0001")
    assert refused.status_code == 403 and "无权访问" in refused.text  # a page, in Chinese
    assert ops_client.get("/ops/kiosks/demo-kiosk-01").status_code == 403
    listed = ops_client.get("/api/v1/ops/kiosks").json()
    assert [k["id"] for k in listed["items"]] == ["k110101-0001"]
    assert ops_client.get("/api/v1/ops/kiosks/k110102-0001").status_code == 403
    assert ops_client.get("/api/v1/ops/kiosks/k110102-0001/health").status_code == 403
    assert ops_client.get("/api/v1/ops/events", params={"kiosk": "k110102-0001"}).status_code == 403
    assert ops_client.get("/api/v1/ops/events").status_code == 403  # must name a kiosk
    assert (
        ops_client.post(
            "/api/v1/ops/kiosks/k110102-0001/commands", json={"name": "lock"}
        ).status_code
        == 403
    )
    overview = ops_client.get("/api/v1/ops/fleet").json()
    assert overview["total"] == 1


def test_bearer_tokens_work_on_the_api_with_their_role_and_regions(
    ops_client: TestClient, feed: Feeder, fleet_db: Engine
) -> None:
    from backend.services import auth

    feed.kiosk("k110101-0001")
    feed.kiosk("k110102-0001")
    feed.place()
    with Session(fleet_db) as session:
        monitor = tokens.create_token(session, role="operator", name="monitoring")
        tech = tokens.create_token(session, role="technician", name="field-laptop")
        session.flush()
        auth.set_token_regions(session, tech, ["110102"])
        session.commit()
    as_monitor = {"Authorization": f"Bearer {monitor}"}
    assert ops_client.get("/api/v1/ops/kiosks", headers=as_monitor).json()["total"] == 2
    assert ops_client.get("/api/v1/ops/audit", headers=as_monitor).status_code == 403
    as_tech = {"Authorization": f"Bearer {tech}"}
    assert [
        k["id"] for k in ops_client.get("/api/v1/ops/kiosks", headers=as_tech).json()["items"]
    ] == ["k110102-0001"]
    assert ops_client.get("/api/v1/ops/kiosks/k110101-0001", headers=as_tech).status_code == 403
    bogus = {"Authorization": "Bearer gk_not-a-token"}
    assert ops_client.get("/api/v1/ops/kiosks", headers=bogus).status_code == 401


def test_repeated_wrong_passwords_lock_the_user_name_for_a_while(
    ops_client: TestClient, users: dict
) -> None:
    def attempt(password: str) -> str:
        token = CSRF.search(ops_client.get("/ops/login").text).group(1)
        response = ops_client.post(
            "/ops/login",
            data={"username": "operator1", "password": password, "csrf": token},
            follow_redirects=False,
        )
        return response.headers["location"]

    for _ in range(5):
        assert "error=1" in attempt("wrong-password-x")
    assert "error=locked" in attempt("correct-horse-battery")  # even the right one, for now
    assert "密码错误次数过多" in ops_client.get("/ops/login", params={"error": "locked"}).text


def test_a_sessions_api_posts_need_its_csrf_header(
    ops_client: TestClient, users: dict, feed: Feeder
) -> None:
    feed.kiosk("k110101-0001")
    feed.place()
    login(ops_client, "operator1")
    csrf = ops_client.headers.pop("X-CSRF-Token")
    refused = ops_client.post("/api/v1/ops/alerts/1/acknowledge")
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.json()["detail"]
    assert ops_client.get("/api/v1/ops/alerts").status_code == 200  # reading needs none
    wrong = ops_client.post("/api/v1/ops/alerts/1/acknowledge", headers={"X-CSRF-Token": "x"})
    assert wrong.status_code == 403
    right = ops_client.post("/api/v1/ops/alerts/1/acknowledge", headers={"X-CSRF-Token": csrf})
    assert right.status_code == 404  # past the check: there is no alert 1
