"""Reviewers move applications along the state machine; overdue flags; 好差评 statistics."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from backend.models import Application
from backend.models.base import utcnow
from tests.backend.gov_fixtures import ID_REISSUE, SSC_REISSUE, WANG_XIAOHONG, ZHANG_SAN, Gov, gov

__all__ = ["gov"]


def _apply(g: Gov, headers: dict[str, str], item: str = ID_REISSUE) -> dict:
    r = g.client.post("/api/v1/citizen/applications", json={"item_code": item}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def test_a_reviewer_moves_an_application_to_its_result(gov: Gov) -> None:
    citizen = gov.app_login(ZHANG_SAN)
    app = _apply(gov, citizen)
    reviewer = gov.reviewer()

    def move(to: str, reason: str = "材料齐全") -> object:
        return gov.client.post(
            f"/api/v1/review/applications/{app['receipt_no']}/transitions",
            json={"to": to, "reason": reason},
            headers=reviewer,
        )

    skipped = move("approved")
    assert skipped.status_code == 409 and "allowed: accepted, rejected" in skipped.json()["detail"]
    accepted = move("accepted")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["deadline_at"] is not None  # 20 working days from acceptance
    assert move("in_review").status_code == 200
    assert move("more_material_needed", "请补充近期免冠照片").status_code == 200
    early = gov.client.post(
        f"/api/v1/citizen/applications/{app['id']}/materials",
        json={"materials": [{"name": "近期免冠彩色证件照片", "source": "scan"}]},
        headers=gov.app_login(WANG_XIAOHONG),
    )
    assert early.status_code == 404  # someone else's case
    supplied = gov.client.post(
        f"/api/v1/citizen/applications/{app['id']}/materials",
        json={
            "materials": [{"name": "近期免冠彩色证件照片", "source": "scan"}],
            "note": "照片已补充",
        },
        headers=citizen,
    )
    assert supplied.status_code == 200, supplied.text
    assert supplied.json()["state"] == "in_review"
    photo = next(m for m in supplied.json()["materials"] if m["name"] == "近期免冠彩色证件照片")
    assert photo["source"] == "scan"
    again = gov.client.post(
        f"/api/v1/citizen/applications/{app['id']}/materials",
        json={"materials": [{"name": "x"}]},
        headers=citizen,
    )
    assert again.status_code == 409
    assert move("approved", "准予补领").status_code == 200
    done = move("delivered", "已邮寄送达")
    assert done.status_code == 200
    history = done.json()["history"]
    assert [h["to_state"] for h in history] == [
        "submitted",
        "accepted",
        "in_review",
        "more_material_needed",
        "in_review",
        "approved",
        "delivered",
    ]
    assert history[3]["reason"] == "请补充近期免冠照片"
    assert history[3]["actor"] == "reviewer:test-reviewer"
    assert history[4]["actor"] == f"citizen:{ZHANG_SAN['id']}@app"
    assert move("in_review").status_code == 409  # concluded
    # the citizen was told of every change, in their own view of the case
    seen = gov.client.get(f"/api/v1/citizen/applications/{app['id']}", headers=citizen).json()
    assert seen["state"] == "delivered"
    notices = gov.client.get("/api/v1/citizen/notifications", headers=citizen).json()
    assert len([n for n in notices if n["kind"] == "application"]) == 7


def test_reviewer_api_needs_the_reviewer_role(gov: Gov) -> None:
    assert gov.client.get("/api/v1/review/applications").status_code == 401
    technician = gov.reviewer("operator")
    r = gov.client.get("/api/v1/review/applications", headers=technician)
    assert r.status_code == 403
    citizen = gov.app_login(ZHANG_SAN)
    assert gov.client.get("/api/v1/review/applications", headers=citizen).status_code == 401


def test_lists_by_department_state_and_overdue(gov: Gov) -> None:
    zhang = gov.app_login(ZHANG_SAN)
    wang = gov.app_login(WANG_XIAOHONG)
    late = _apply(gov, zhang)
    on_time = _apply(gov, wang)
    instant = _apply(gov, zhang, SSC_REISSUE)
    reviewer = gov.reviewer()
    for app in (late, on_time):
        gov.client.post(
            f"/api/v1/review/applications/{app['id']}/transitions",
            json={"to": "accepted", "reason": "受理"},
            headers=reviewer,
        )
    with gov.sessions().begin() as session:
        session.execute(
            update(Application)
            .where(Application.id == late["id"])
            .values(deadline_at=utcnow() - timedelta(hours=1))
        )

    def listed(**params: object) -> list[str]:
        r = gov.client.get("/api/v1/review/applications", params=params, headers=reviewer)
        assert r.status_code == 200, r.text
        return [a["id"] for a in r.json()["items"]]

    assert listed(overdue=True) == [late["id"]]
    assert set(listed(overdue=False)) == {on_time["id"], instant["id"]}
    assert set(listed(department="gaj")) == {late["id"], on_time["id"]}
    assert listed(state="accepted", department="rsj") == []
    assert (
        gov.client.get(
            "/api/v1/review/applications", params={"state": "nope"}, headers=reviewer
        ).status_code
        == 422
    )
    mine = gov.client.get(f"/api/v1/citizen/applications/{late['id']}", headers=zhang).json()
    assert mine["overdue"] is True


def test_rating_statistics_by_item_department_and_kiosk(gov: Gov) -> None:
    citizen = gov.app_login(ZHANG_SAN)
    for level, item in ((5, ID_REISSUE), (1, ID_REISSUE), (4, SSC_REISSUE)):
        r = gov.client.post(
            "/api/v1/citizen/ratings", json={"level": level, "item_code": item}, headers=citizen
        )
        assert r.status_code == 201
    reviewer = gov.reviewer()
    by_department = gov.client.get(
        "/api/v1/review/ratings/stats", params={"by": "department"}, headers=reviewer
    ).json()
    stats = {row["key"]: row for row in by_department}
    assert (
        stats["gaj"]["count"] == 2 and stats["gaj"]["average"] == 3.0 and stats["gaj"]["bad"] == 1
    )
    assert stats["rsj"]["satisfied_ratio"] == 1.0
    by_item = gov.client.get(
        "/api/v1/review/ratings/stats", params={"by": "item"}, headers=reviewer
    ).json()
    assert {row["key"] for row in by_item} == {ID_REISSUE, SSC_REISSUE}
    bad = gov.client.get("/api/v1/review/ratings/stats", params={"by": "nope"}, headers=reviewer)
    assert bad.status_code == 422
    tasks = gov.client.get("/api/v1/review/rectifications", headers=reviewer).json()
    assert len(tasks) == 1
    fixed = gov.client.post(
        f"/api/v1/review/rectifications/{tasks[0]['id']}/resolve",
        json={"resolution": "已电话回访并致歉，增设窗口"},
        headers=reviewer,
    )
    assert fixed.status_code == 204
    notices = gov.client.get("/api/v1/citizen/notifications", headers=citizen).json()
    assert any(n["kind"] == "rectification" for n in notices)
    again = gov.client.post(
        f"/api/v1/review/rectifications/{tasks[0]['id']}/resolve",
        json={"resolution": "再次"},
        headers=reviewer,
    )
    assert again.status_code == 409
