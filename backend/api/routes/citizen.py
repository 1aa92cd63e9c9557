"""/api/v1/citizen: one API for both channels (数据同源), with a citizen token.

Every route reaches only the token's own citizen: another citizen's
application or licence answers 404, exactly like one that does not exist,
so ids cannot be probed. Every read is written to the access log
(backend/services/citizen_audit.py). Identity numbers appear masked only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from backend.api.citizen_deps import CitizenDep, KeysDep, NotifierDep, SettingsDep
from backend.api.deps import SessionDep
from backend.gov import workflow
from backend.models import Application, ServiceItem
from backend.models.base import utcnow
from backend.services import applications as applications_service
from backend.services import citizen_audit, notifications, proofs
from backend.services import faq as faq_service
from backend.services import licences as licences_service
from backend.services import ratings as ratings_service

router = APIRouter(prefix="/api/v1/citizen", tags=["citizen"])

Key = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z._-]+$")]
ShortText = Annotated[str, Field(max_length=500)]
FieldName = Annotated[str, Field(min_length=1, max_length=64)]


class CitizenMe(BaseModel):
    id: str
    name: str
    id_number_masked: str
    phone_masked: str | None
    gender: str
    region_code: str
    channel: str
    kiosk_id: str | None


class HistoryEntry(BaseModel):
    from_state: str | None
    to_state: str
    state_name: str
    actor: str
    reason: str
    at: datetime


class ApplicationPublic(BaseModel):
    id: str
    receipt_no: str
    item_code: str
    item_name: str
    department_code: str | None
    applicant_masked: str
    channel: str
    kiosk_id: str | None
    bundle_no: str | None
    state: str
    state_name: str
    submitted_at: datetime
    deadline_at: datetime | None
    overdue: bool
    concluded_at: datetime | None
    result: str | None
    materials: list[dict[str, Any]]
    form: dict[str, Any]


class ApplicationDetail(ApplicationPublic):
    history: list[HistoryEntry]
    unmatched_reason: str | None = None
    proof: dict[str, Any] | None = Field(
        default=None,
        description="what proved that the applicant acted: kiosk_session (the backend's "
        "session at that kiosk), offline_card (the card's signed answer), app_token / "
        "kiosk_token (the citizen API), reviewer (matched by hand), unproven",
    )


class ApplicationPage(BaseModel):
    items: list[ApplicationPublic]
    next_cursor: str | None


class MaterialGiven(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    licence_no: str | None = Field(default=None, min_length=1, max_length=64)
    source: Literal["e_licence", "scan", "paper"] | None = None

    @model_validator(mode="after")
    def _something(self) -> MaterialGiven:
        if not self.name and not self.licence_no:
            raise ValueError("a material needs a name or a licence_no")
        return self


class ApplyRequest(BaseModel):
    item_code: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z-]+$")
    form: dict[FieldName, ShortText] = Field(default_factory=dict, max_length=50)
    materials: list[MaterialGiven] = Field(default_factory=list, max_length=50)


class LifeEventApplyRequest(BaseModel):
    form: dict[FieldName, ShortText] = Field(default_factory=dict, max_length=50)
    materials: list[MaterialGiven] = Field(default_factory=list, max_length=50)


class OnSiteItem(BaseModel):
    code: str
    name: str
    location: str


class BundlePublic(BaseModel):
    bundle_no: str
    life_event: str
    applications: list[ApplicationPublic]
    on_site_items: list[OnSiteItem]


class SupplementRequest(BaseModel):
    materials: list[MaterialGiven] = Field(min_length=1, max_length=50)
    note: str = Field(default="", max_length=500)


class LicencePublic(BaseModel):
    licence_no: str
    type_code: str
    title: str
    issuer: str
    issued_at: datetime
    valid_until: datetime | None
    status: str


class DocumentField(BaseModel):
    label: str
    value: str


class LicenceDocument(BaseModel):
    licence_no: str
    type_code: str
    title: str
    issuer: str
    status: str
    fields: list[DocumentField]
    verification_code: str
    verify_url: str
    qr_svg: str  # the verify URL as a QR code, inline SVG, for a screen


class RatingRequest(BaseModel):
    level: int = Field(ge=1, le=5, description="5 非常满意 ... 1 非常不满意")
    application: str | None = Field(
        default=None, min_length=1, max_length=64, description="id or receipt number rated"
    )
    item_code: str | None = Field(default=None, min_length=1, max_length=64)
    reasons: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=10
    )
    comment: str | None = Field(default=None, max_length=500)


class RatingPublic(BaseModel):
    id: int
    level: int
    level_name: str
    item_code: str | None
    receipt_no: str | None
    comment: str | None
    rectification_opened: bool
    created_at: datetime


class NotificationPublic(BaseModel):
    id: int
    kind: str
    title: str
    body: str
    reference: str | None
    created_at: datetime


class AccessEntry(BaseModel):
    at: datetime
    who: str
    action: str


class QuestionRequest(BaseModel):
    text: str = Field(min_length=2, max_length=1000)
    item_code: str | None = Field(default=None, min_length=1, max_length=64)
    department: str | None = Field(default=None, min_length=1, max_length=32)


class QuestionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # read straight from a Question row

    id: str
    text: str
    item_code: str | None
    department_code: str | None
    state: str
    answer: str | None
    answered_by_faq: bool
    created_at: datetime
    answered_at: datetime | None


def application_public(a: Application) -> dict[str, Any]:
    return {
        "id": a.id,
        "receipt_no": a.receipt_no,
        "item_code": a.item_code,
        "item_name": a.item_name,
        "department_code": a.department_code,
        "applicant_masked": a.applicant_masked,
        "channel": a.channel,
        "kiosk_id": a.kiosk_id,
        "bundle_no": a.bundle_no,
        "state": a.state,
        "state_name": workflow.STATES.get(a.state, a.state),
        "submitted_at": a.submitted_at,
        "deadline_at": a.deadline_at,
        "overdue": workflow.is_overdue(a.state, a.deadline_at, utcnow()),
        "concluded_at": a.concluded_at,
        "result": a.result,
        "materials": a.materials,
        "form": a.form,
    }


def application_detail(session: SessionDep, a: Application) -> ApplicationDetail:
    return ApplicationDetail(
        **application_public(a),
        unmatched_reason=a.unmatched_reason,
        proof=a.proof,
        history=[
            HistoryEntry(
                from_state=h.from_state,
                to_state=h.to_state,
                state_name=workflow.STATES.get(h.to_state, h.to_state),
                actor=h.actor,
                reason=h.reason,
                at=h.at,
            )
            for h in applications_service.history(session, a.id)
        ],
    )


def _own_application(session: SessionDep, ctx: Any, key: str) -> Application:
    application = applications_service.get_by_id_or_receipt(session, key)
    if application is None or application.citizen_id != ctx.citizen.id:
        raise HTTPException(404, detail=f"没有编号为 {key} 的办件")
    return application


def _audit(session: SessionDep, ctx: Any, action: str, detail: str = "") -> None:
    citizen_audit.record(
        session, actor=ctx.actor, citizen_id=ctx.citizen.id, action=action, detail=detail
    )
    session.commit()


@router.get("/me", response_model=CitizenMe)
def me(session: SessionDep, ctx: CitizenDep) -> CitizenMe:
    c = ctx.citizen
    _audit(session, ctx, "citizen.me")
    return CitizenMe(
        id=c.id,
        name=c.name,
        id_number_masked=c.id_number_masked,
        phone_masked=c.phone_masked,
        gender=c.gender,
        region_code=c.region_code,
        channel=ctx.token.channel,
        kiosk_id=ctx.token.kiosk_id,
    )


@router.get("/applications", response_model=ApplicationPage)
def my_applications(
    session: SessionDep,
    ctx: CitizenDep,
    state: Annotated[str | None, Query(max_length=24, pattern=r"^[a-z_]+$")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> ApplicationPage:
    rows, next_cursor = applications_service.list_applications(
        session, citizen_id=ctx.citizen.id, state=state, limit=limit, cursor=cursor
    )
    _audit(session, ctx, "applications.list", f"{len(rows)} rows")
    return ApplicationPage(
        items=[ApplicationPublic(**application_public(a)) for a in rows], next_cursor=next_cursor
    )


@router.get("/applications/{key}", response_model=ApplicationDetail)
def my_application(session: SessionDep, ctx: CitizenDep, key: Key) -> ApplicationDetail:
    application = _own_application(session, ctx, key)
    detail = application_detail(session, application)
    _audit(session, ctx, "applications.read", application.receipt_no)
    return detail


@router.post("/applications", response_model=ApplicationDetail, status_code=201)
def apply(
    session: SessionDep, ctx: CitizenDep, notifier: NotifierDep, keys: KeysDep, body: ApplyRequest
) -> ApplicationDetail:
    channel = "kiosk" if ctx.token.kiosk_id else "app"
    try:
        application = applications_service.submit(
            session,
            notifier,
            citizen=ctx.citizen,
            item_code=body.item_code,
            form=body.form,
            materials=[m.model_dump(exclude_none=True) for m in body.materials],
            channel=channel,
            kiosk_id=ctx.token.kiosk_id,
            actor=ctx.actor,
            proof=proofs.citizen_token(ctx.token),
            keys=keys,
        )
    except applications_service.ApplicationRefused as err:
        session.rollback()
        raise HTTPException(err.status, detail=str(err)) from err
    detail = application_detail(session, application)
    _audit(session, ctx, "applications.submit", application.receipt_no)
    return detail


@router.post("/applications/{key}/materials", response_model=ApplicationDetail)
def supplement_materials(
    session: SessionDep, ctx: CitizenDep, notifier: NotifierDep, key: Key, body: SupplementRequest
) -> ApplicationDetail:
    """补正材料: answer a reviewer's "more material needed"; the case returns to review."""
    application = _own_application(session, ctx, key)
    try:
        applications_service.supplement(
            session,
            notifier,
            application,
            ctx.citizen,
            [m.model_dump(exclude_none=True) for m in body.materials],
            body.note,
            ctx.actor,
        )
    except applications_service.ApplicationRefused as err:
        session.rollback()
        raise HTTPException(err.status, detail=str(err)) from err
    detail = application_detail(session, application)
    _audit(session, ctx, "applications.supplement", application.receipt_no)
    return detail


@router.post("/life-events/{code}/applications", response_model=BundlePublic, status_code=201)
def apply_life_event(
    session: SessionDep,
    ctx: CitizenDep,
    notifier: NotifierDep,
    keys: KeysDep,
    code: Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[a-z0-9_-]+$")],
    body: LifeEventApplyRequest,
) -> BundlePublic:
    """一件事一次办: every item of the life event from one form and one material list."""
    try:
        bundle = applications_service.submit_life_event(
            session,
            notifier,
            citizen=ctx.citizen,
            life_event_code=code,
            form=body.form,
            materials=[m.model_dump(exclude_none=True) for m in body.materials],
            channel="kiosk" if ctx.token.kiosk_id else "app",
            kiosk_id=ctx.token.kiosk_id,
            actor=ctx.actor,
            proof=proofs.citizen_token(ctx.token),
            keys=keys,
        )
    except applications_service.ApplicationRefused as err:
        session.rollback()
        raise HTTPException(err.status, detail=str(err)) from err
    result = BundlePublic(
        bundle_no=bundle.bundle_no,
        life_event=code,
        applications=[ApplicationPublic(**application_public(a)) for a in bundle.applications],
        on_site_items=[
            OnSiteItem(code=i.code, name=i.name, location=i.location) for i in bundle.on_site
        ],
    )
    _audit(session, ctx, "applications.submit_life_event", bundle.bundle_no)
    return result


@router.get("/licences", response_model=list[LicencePublic])
def my_licences(session: SessionDep, ctx: CitizenDep) -> list[LicencePublic]:
    rows = licences_service.list_for(session, ctx.citizen.id)
    _audit(session, ctx, "licences.list", f"{len(rows)} licences")
    return [
        LicencePublic(
            licence_no=r.licence_no,
            type_code=r.type_code,
            title=r.title,
            issuer=r.issuer,
            issued_at=r.issued_at,
            valid_until=r.valid_until,
            status=licences_service.status(r),
        )
        for r in rows
    ]


@router.get("/licences/{licence_no}/document", response_model=LicenceDocument)
def licence_document(
    session: SessionDep, ctx: CitizenDep, keys: KeysDep, settings: SettingsDep, licence_no: Key
) -> LicenceDocument:
    licence = licences_service.get_owned(session, ctx.citizen.id, licence_no)
    if licence is None:
        raise HTTPException(404, detail=f"没有编号为 {licence_no} 的证照")
    document = licences_service.document(keys, licence, ctx.citizen, settings.public_base_url)
    _audit(session, ctx, "licences.document", licence_no)
    return LicenceDocument(**document)


@router.post("/ratings", response_model=RatingPublic, status_code=201)
def rate(
    session: SessionDep, ctx: CitizenDep, settings: SettingsDep, body: RatingRequest
) -> RatingPublic:
    application = None
    if body.application:
        application = _own_application(session, ctx, body.application)
    elif body.item_code is None:
        raise HTTPException(422, detail="rate an application (application) or an item (item_code)")
    elif session.get(ServiceItem, body.item_code) is None:
        raise HTTPException(404, detail=f"没有编码为 {body.item_code} 的事项")
    try:
        rating = ratings_service.rate(
            session,
            level=body.level,
            channel="kiosk" if ctx.token.kiosk_id else "app",
            rectification_days=settings.rectification_working_days,
            citizen_id=ctx.citizen.id,
            application=application,
            item_code=body.item_code,
            kiosk_id=ctx.token.kiosk_id,
            reasons=body.reasons,
            comment=body.comment,
        )
    except ratings_service.RatingRefused as err:
        session.rollback()
        raise HTTPException(err.status, detail=str(err)) from err
    _audit(session, ctx, "ratings.submit", f"level {body.level}")
    return RatingPublic(
        id=rating.id,
        level=rating.level,
        level_name=ratings_service.LEVELS[rating.level],
        item_code=rating.item_code,
        receipt_no=application.receipt_no if application else None,
        comment=rating.comment,
        rectification_opened=rating.level <= ratings_service.BAD,
        created_at=rating.created_at,
    )


@router.get("/notifications", response_model=list[NotificationPublic])
def my_notifications(
    session: SessionDep, ctx: CitizenDep, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> list[NotificationPublic]:
    rows = notifications.list_for(session, ctx.citizen.id, limit)
    _audit(session, ctx, "notifications.list", f"{len(rows)} rows")
    return [
        NotificationPublic(
            id=n.id,
            kind=n.kind,
            title=n.title,
            body=n.body,
            reference=n.reference,
            created_at=n.created_at,
        )
        for n in rows
    ]


@router.post("/questions", response_model=QuestionPublic, status_code=201)
def ask(
    session: SessionDep, ctx: CitizenDep, notifier: NotifierDep, body: QuestionRequest
) -> QuestionPublic:
    try:
        question = faq_service.ask(
            session,
            notifier,
            citizen_id=ctx.citizen.id,
            text=body.text,
            item_code=body.item_code,
            department=body.department,
        )
    except faq_service.QuestionRefused as err:
        session.rollback()
        raise HTTPException(err.status, detail=str(err)) from err
    result = QuestionPublic.model_validate(question)
    _audit(session, ctx, "questions.ask")
    return result


@router.get("/questions", response_model=list[QuestionPublic])
def my_questions(session: SessionDep, ctx: CitizenDep) -> list[QuestionPublic]:
    rows = faq_service.list_for_citizen(session, ctx.citizen.id)
    result = [QuestionPublic.model_validate(q) for q in rows]
    _audit(session, ctx, "questions.list", f"{len(rows)} rows")
    return result


def _who(actor: str, own_id: str) -> str:
    """Who read, in the citizen's words: themself (and where), a kiosk, staff, a checker."""
    if actor.startswith(f"citizen:{own_id}@kiosk:"):
        return "本人（自助终端 " + actor.rsplit(":", 1)[1] + "）"
    if actor.startswith(f"citizen:{own_id}"):
        return "本人（移动端）"
    if actor.startswith("account:"):  # account:{id}:{masked phone}@app, a phone binding
        parts = actor.removesuffix("@app").split(":")
        return f"手机 {parts[2]}（实名绑定）" if len(parts) == 3 else "实名绑定"
    if actor.startswith("kiosk:"):
        return "自助终端 " + actor.removeprefix("kiosk:")
    if actor.startswith("reviewer:"):
        return "审核人员 " + actor.removeprefix("reviewer:")
    if actor == "public:verify":
        return "证照核验"
    return actor.split(":", 1)[0]


@router.get("/access-log", response_model=list[AccessEntry])
def my_access_log(
    session: SessionDep, ctx: CitizenDep, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> list[AccessEntry]:
    """数据使用记录: who read my data and when (the reads of this list included)."""
    _audit(session, ctx, "access_log.list")
    return [
        AccessEntry(at=e.at, who=_who(e.actor, ctx.citizen.id), action=e.action)
        for e in citizen_audit.entries(session, ctx.citizen.id, limit)
    ]
