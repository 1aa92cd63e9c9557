"""/api/v1/review: reviewers move applications along, answer questions, fix bad ratings.

Bearer API tokens with the role ``reviewer`` (or ``admin``), from
``fleet-backend admin create-token --role reviewer``. Each move names its
reason and is kept in the application's history with the token's name; the
citizen is notified. Reads of applications are written to the access log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from backend.api.citizen_deps import KeysDep, NotifierDep
from backend.api.deps import SessionDep, require_role
from backend.api.routes.citizen import (
    ApplicationDetail,
    ApplicationPage,
    ApplicationPublic,
    application_detail,
    application_public,
)
from backend.gov import workflow
from backend.models import ApiToken, Application
from backend.models.base import utcnow
from backend.services import applications as applications_service
from backend.services import citizen_audit, private_data
from backend.services import citizens as citizens_service
from backend.services import faq as faq_service
from backend.services import ratings as ratings_service

router = APIRouter(prefix="/api/v1/review", tags=["review"])

ReviewerDep = Annotated[ApiToken, Depends(require_role("reviewer", "admin"))]
Key = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z._-]+$")]
DepartmentQuery = Annotated[str | None, Query(max_length=32, pattern=r"^[a-z0-9_-]+$")]


def _actor(token: ApiToken) -> str:
    return f"reviewer:{token.name}"


class TransitionRequest(BaseModel):
    to: Literal[
        "accepted", "in_review", "approved", "rejected", "more_material_needed", "delivered"
    ]
    reason: str = Field(min_length=2, max_length=500, description="why; the citizen reads it")


class MatchRequest(BaseModel):
    id_number: str = Field(min_length=18, max_length=18)
    name: str = Field(min_length=1, max_length=50)
    reason: str = Field(min_length=2, max_length=500)


def _get(session: SessionDep, key: str) -> Application:
    application = applications_service.get_by_id_or_receipt(session, key)
    if application is None:
        raise HTTPException(404, detail=f"没有编号为 {key} 的办件")
    return application


@router.get("/applications", response_model=ApplicationPage)
def list_applications(
    session: SessionDep,
    token: ReviewerDep,
    department: DepartmentQuery = None,
    state: Annotated[str | None, Query(max_length=24, pattern=r"^[a-z_]+$")] = None,
    overdue: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> ApplicationPage:
    if state is not None and state not in workflow.STATES:
        raise HTTPException(
            422, detail=f"unknown state {state!r}; states: {', '.join(workflow.STATES)}"
        )
    rows, next_cursor = applications_service.list_applications(
        session, department=department, state=state, overdue=overdue, limit=limit, cursor=cursor
    )
    for a in rows:
        citizen_audit.record(
            session,
            actor=_actor(token),
            citizen_id=a.citizen_id,
            action="review.list",
            detail=a.receipt_no,
        )
    session.commit()
    return ApplicationPage(
        items=[ApplicationPublic(**application_public(a)) for a in rows], next_cursor=next_cursor
    )


@router.get("/applications/{key}", response_model=ApplicationDetail)
def get_application(session: SessionDep, token: ReviewerDep, key: Key) -> ApplicationDetail:
    application = _get(session, key)
    detail = application_detail(session, application)
    citizen_audit.record(
        session,
        actor=_actor(token),
        citizen_id=application.citizen_id,
        action="review.read",
        detail=application.receipt_no,
    )
    session.commit()
    return detail


class RevealRequest(BaseModel):
    reason: str = Field(
        min_length=2, max_length=300, description="why the clear value is needed (audited)"
    )


class FormPrivate(BaseModel):
    receipt_no: str
    fields: dict[str, str] = Field(description="the form's personal fields, in clear")


@router.post("/applications/{key}/form-private", response_model=FormPrivate)
def reveal_form(
    session: SessionDep, token: ReviewerDep, keys: KeysDep, key: Key, body: RevealRequest
) -> FormPrivate:
    """The clear phone number(s) of an application's form, for a reviewer who must call; audited."""
    application = _get(session, key)
    try:
        fields = private_data.reveal_form(
            session, keys, application, actor=_actor(token), reason=body.reason
        )
    except private_data.NothingPrivate as err:
        raise HTTPException(404, detail="该办件没有加密保存的个人信息字段") from err
    session.commit()
    return FormPrivate(receipt_no=application.receipt_no, fields=fields)


@router.post("/applications/{key}/transitions", response_model=ApplicationDetail)
def move_application(
    session: SessionDep,
    token: ReviewerDep,
    notifier: NotifierDep,
    key: Key,
    body: TransitionRequest,
) -> ApplicationDetail:
    application = _get(session, key)
    try:
        applications_service.transition(
            session, notifier, application, body.to, _actor(token), body.reason
        )
    except applications_service.ApplicationRefused as err:
        session.rollback()
        raise HTTPException(err.status, detail=str(err)) from err
    detail = application_detail(session, application)
    session.commit()
    return detail


@router.post("/applications/{key}/match", response_model=ApplicationDetail)
def match_application(
    session: SessionDep,
    token: ReviewerDep,
    keys: KeysDep,
    notifier: NotifierDep,
    key: Key,
    body: MatchRequest,
) -> ApplicationDetail:
    """An ``unmatched`` kiosk application: the reviewer names the applicant (seen in person)."""
    application = _get(session, key)
    try:
        citizen = citizens_service.find_by_id_number(session, keys, body.id_number)
    except citizens_service.CitizenRefused as err:
        raise HTTPException(422, detail=str(err)) from err
    if citizen is None or citizen.name != body.name.strip():
        raise HTTPException(404, detail="no citizen in the registry with this name and number")
    try:
        applications_service.match_applicant(
            session, notifier, application, citizen, _actor(token), body.reason
        )
    except applications_service.ApplicationRefused as err:
        session.rollback()
        raise HTTPException(err.status, detail=str(err)) from err
    citizen_audit.record(
        session,
        actor=_actor(token),
        citizen_id=citizen.id,
        action="review.match",
        detail=application.receipt_no,
    )
    detail = application_detail(session, application)
    session.commit()
    return detail


# --- questions (我要问 tickets) ------------------------------------------------------------------


class TicketPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # read straight from a Question row

    id: str
    text: str
    item_code: str | None
    department_code: str | None
    state: str
    answer: str | None
    created_at: datetime
    answered_at: datetime | None


class TransferRequest(BaseModel):
    department: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_-]+$")
    reason: str = Field(min_length=2, max_length=500)


class AnswerRequest(BaseModel):
    answer: str = Field(min_length=2, max_length=4000)


QuestionId = Annotated[str, Path(min_length=36, max_length=36, pattern=r"^[0-9a-f-]{36}$")]


@router.get("/questions", response_model=list[TicketPublic])
def list_questions(
    session: SessionDep,
    token: ReviewerDep,
    department: DepartmentQuery = None,
    state: Annotated[Literal["open", "answered"] | None, Query()] = None,
) -> list[TicketPublic]:
    return [
        TicketPublic.model_validate(q)
        for q in faq_service.list_tickets(session, department=department, state=state)
    ]


@router.post("/questions/{question_id}/transfer", response_model=TicketPublic)
def transfer_question(
    session: SessionDep, token: ReviewerDep, question_id: QuestionId, body: TransferRequest
) -> TicketPublic:
    try:
        q = faq_service.transfer(
            session,
            question_id,
            department=body.department,
            reason=body.reason,
            actor=_actor(token),
        )
    except faq_service.QuestionRefused as err:
        session.rollback()
        raise HTTPException(err.status, detail=str(err)) from err
    result = TicketPublic.model_validate(q)
    session.commit()
    return result


@router.post("/questions/{question_id}/answer", response_model=TicketPublic)
def answer_question(
    session: SessionDep,
    token: ReviewerDep,
    notifier: NotifierDep,
    question_id: QuestionId,
    body: AnswerRequest,
) -> TicketPublic:
    try:
        q = faq_service.answer(
            session, notifier, question_id, text=body.answer, actor=_actor(token)
        )
    except faq_service.QuestionRefused as err:
        session.rollback()
        raise HTTPException(err.status, detail=str(err)) from err
    result = TicketPublic.model_validate(q)
    session.commit()
    return result


# --- 好差评: rectifications and statistics ------------------------------------------------------


class RectificationPublic(BaseModel):
    id: int
    rating_id: int
    level: int
    comment: str | None
    item_code: str | None
    department_code: str | None
    kiosk_id: str | None
    state: str
    due_at: datetime
    overdue: bool
    resolution: str | None


class ResolveRequest(BaseModel):
    resolution: str = Field(
        min_length=2, max_length=1000, description="what was done; the citizen reads it"
    )


class RatingStat(BaseModel):
    key: str
    count: int
    average: float
    satisfied_ratio: float
    bad: int


@router.get("/rectifications", response_model=list[RectificationPublic])
def list_rectifications(
    session: SessionDep,
    token: ReviewerDep,
    department: DepartmentQuery = None,
    state: Annotated[Literal["open", "resolved"] | None, Query()] = None,
) -> list[RectificationPublic]:
    now = utcnow()
    return [
        RectificationPublic(
            id=t.id,
            rating_id=r.id,
            level=r.level,
            comment=r.comment,
            item_code=r.item_code,
            department_code=t.department_code,
            kiosk_id=r.kiosk_id,
            state=t.state,
            due_at=t.due_at,
            overdue=t.state == "open" and t.due_at < now,
            resolution=t.resolution,
        )
        for t, r in ratings_service.rectifications(session, department=department, state=state)
    ]


@router.post("/rectifications/{task_id}/resolve", status_code=204)
def resolve_rectification(
    session: SessionDep,
    token: ReviewerDep,
    notifier: NotifierDep,
    task_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    body: ResolveRequest,
) -> None:
    try:
        ratings_service.resolve(
            session, notifier, task_id, resolution=body.resolution, actor=_actor(token)
        )
    except ratings_service.RatingRefused as err:
        session.rollback()
        raise HTTPException(err.status, detail=str(err)) from err
    session.commit()


@router.get("/ratings/stats", response_model=list[RatingStat])
def rating_statistics(
    session: SessionDep,
    token: Annotated[ApiToken, Depends(require_role("reviewer", "admin", "operator"))],
    by: Annotated[Literal["item", "department", "kiosk"], Query()] = "department",
) -> list[RatingStat]:
    return [RatingStat(**row) for row in ratings_service.statistics(session, by)]
