"""Applications (办件) from both channels: submission, 秒批, the state machine, kiosk events.

One table for both channels (数据同源): a mini-app application arrives by API,
a kiosk's as an ``application.submitted`` event through ingest; either way
the citizen sees it in both. Materials are matched against the citizen's
e-licences first, so nothing the government already issued is asked for
again (免提交). An item whose rule allows 秒批 is approved at once when
every required material is met by a valid e-licence.

A kiosk event whose citizen cannot be resolved (no vouched session, a sealed
applicant that does not open or is not in the registry) is not dropped: the
event is stored as every event is, and the application is kept in the
visible ``unmatched`` state with the reason, for a reviewer to match or
reject (see backend/gov/workflow.py).
"""

from __future__ import annotations

import json
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from backend.gov import workflow
from backend.gov.keys import DataKeys
from backend.gov.providers import NotificationProvider
from backend.models import Application, ApplicationHistory, Citizen, Licence, ServiceItem
from backend.models.base import utcnow
from backend.services import licences as licences_service
from backend.services import notifications, private_data, proofs
from backend.services.pagination import decode_cursor, encode_cursor
from mqtt.contract import receipts

logger = logging.getLogger(__name__)

INSTANT_ACTOR = "system:秒批"


class ApplicationRefused(Exception):
    """Why an application or a move was refused; ``status`` is the HTTP status that fits."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# --- materials ---------------------------------------------------------------------------------


def resolve_materials(
    session: Session,
    item: ServiceItem,
    citizen_id: str,
    supplied: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], bool]:
    """Each material of the item with how it is met; True when every required one is an e-licence.

    ``supplied`` lists what the applicant gave: ``{"name", "licence_no"}`` or
    ``{"name", "source"}``. A licence number must be the applicant's own,
    valid licence (else ApplicationRefused 422). A material that an owned,
    valid e-licence meets is met by it even when not listed.
    """
    owned: dict[str, Licence] = {}
    for licence_no in {s["licence_no"] for s in supplied if s.get("licence_no")}:
        licence = licences_service.get_owned(session, citizen_id, licence_no)
        if licence is None:
            raise ApplicationRefused(422, f"证照 {licence_no} 不存在或不属于申请人")
        if not licences_service.usable(licence):
            raise ApplicationRefused(
                422, f"证照 {licence_no} 当前状态为{licences_service.status(licence)}，不能作为材料"
            )
        owned[licence.type_code] = licence
    for licence in licences_service.list_for(session, citizen_id):
        if licences_service.usable(licence):
            owned.setdefault(licence.type_code, licence)
    by_name = {s.get("name"): s for s in supplied if s.get("name")}
    resolved: list[dict[str, Any]] = []
    all_by_licence = True
    for material in item.materials:
        required = bool(material.get("required", True))
        licence = owned.get(material.get("licence_type") or "")
        if licence is not None:
            resolved.append(
                {
                    "name": material["name"],
                    "required": required,
                    "source": "e_licence",
                    "licence_no": licence.licence_no,
                }
            )
            continue
        given = by_name.get(material["name"])
        source = given.get("source", "paper") if given else "pending"
        resolved.append({"name": material["name"], "required": required, "source": source})
        if required:
            all_by_licence = False
    return resolved, all_by_licence


# --- submission --------------------------------------------------------------------------------


def _receipt_no(item: ServiceItem, now: datetime) -> str:
    """办件编号: the implementation code, the date and a random sequence (unique by constraint)."""
    return f"{item.code}{now:%Y%m%d}{secrets.randbelow(10**6):06d}"


@dataclass
class Notifier:
    provider: NotificationProvider | None


def _history(
    session: Session, application: Application, frm: str | None, to: str, actor: str, reason: str
) -> None:
    session.add(
        ApplicationHistory(
            application_id=application.id,
            from_state=frm,
            to_state=to,
            actor=actor[:120],
            reason=reason[:500],
            at=utcnow(),
        )
    )


def _notify_change(
    session: Session, provider: NotificationProvider | None, application: Application, reason: str
) -> None:
    if application.citizen_id is None:
        return
    name = workflow.STATES[application.state]
    notifications.notify(
        session,
        provider,
        citizen_id=application.citizen_id,
        kind="application",
        title=f"您的办件“{application.item_name}”{name}",
        body=f"办件编号 {application.receipt_no}：{name}。{reason}",
        reference=application.receipt_no,
    )


def submit(
    session: Session,
    provider: NotificationProvider | None,
    *,
    citizen: Citizen,
    item_code: str,
    form: dict[str, str],
    materials: list[dict[str, Any]],
    channel: str = "app",
    kiosk_id: str | None = None,
    receipt_no: str | None = None,
    event_id: str | None = None,
    submitted_at: datetime | None = None,
    actor: str | None = None,
    bundle_no: str | None = None,
    proof: dict[str, Any] | None = None,
    kiosk_session_id: str | None = None,
    keys: DataKeys | None = None,
) -> Application:
    """A proven applicant's application: ``proof`` says what proved that ``citizen`` acted
    (backend/services/proofs.py); 秒批 applies when the item allows it."""
    item = session.get(ServiceItem, item_code)
    if item is None:
        raise ApplicationRefused(404, f"没有编码为 {item_code} 的事项")
    if channel == "app" and not item.online:
        raise ApplicationRefused(422, f"“{item.name}”需到现场办理：{item.location}")
    resolved, instant = resolve_materials(session, item, citizen.id, materials)
    now = utcnow()
    application = Application(
        id=str(uuid.uuid4()),
        receipt_no=receipt_no or _receipt_no(item, now),
        item_code=item.code,
        item_name=item.name,
        department_code=item.department_code,
        citizen_id=citizen.id,
        applicant_masked=citizen.id_number_masked,
        channel=channel,
        kiosk_id=kiosk_id,
        event_id=event_id,
        bundle_no=bundle_no,
        state="submitted",
        **private_data.protect_form(form, keys),  # phone numbers: encrypted + masked
        materials=resolved,
        submitted_at=submitted_at or now,
        updated_at=now,
        proof=proof,
        kiosk_session_id=kiosk_session_id,
    )
    session.add(application)
    session.flush()
    who = actor or f"citizen:{citizen.id}"
    _history(session, application, None, "submitted", who, f"通过{_channel_name(channel)}提交")
    _notify_change(session, provider, application, "我们已收到您的申请。")
    if item.instant_approval and instant:
        _instant_approve(session, provider, application, item)
    return application


@dataclass(frozen=True)
class Bundle:
    bundle_no: str
    applications: list[Application]
    on_site: list[ServiceItem]  # items of the life event that cannot be applied for here


def submit_life_event(
    session: Session,
    provider: NotificationProvider | None,
    *,
    citizen: Citizen,
    life_event_code: str,
    form: dict[str, str],
    materials: list[dict[str, Any]],
    channel: str = "app",
    kiosk_id: str | None = None,
    actor: str | None = None,
    proof: dict[str, Any] | None = None,
    keys: DataKeys | None = None,
) -> Bundle:
    """一件事一次办: one request, one form and one material list for every item of a life event.

    Each item becomes its own application (each department decides its own),
    tied together by one bundle number; items that must be done on site are
    returned instead of applied for, so the citizen knows where to go.
    """
    from backend.services import catalog as catalog_service

    event = catalog_service.get_life_event(session, life_event_code)
    if event is None:
        raise ApplicationRefused(404, f"没有编码为 {life_event_code} 的一件事")
    items = catalog_service.life_event_items(session, life_event_code)
    now = utcnow()
    bundle_no = f"YJS{now:%Y%m%d}{secrets.randbelow(10**8):08d}"
    made: list[Application] = []
    on_site: list[ServiceItem] = []
    for item in items:
        if channel == "app" and not item.online:
            on_site.append(item)
            continue
        made.append(
            submit(
                session,
                provider,
                citizen=citizen,
                item_code=item.code,
                form=form,
                materials=materials,
                channel=channel,
                kiosk_id=kiosk_id,
                actor=actor,
                bundle_no=bundle_no,
                proof=proof,
                keys=keys,
            )
        )
    if not made:
        raise ApplicationRefused(422, f"“{event.name}”的事项均需到现场办理")
    return Bundle(bundle_no, made, on_site)


def _channel_name(channel: str) -> str:
    return {"kiosk": "自助终端", "app": "移动端"}.get(channel, channel)


def _instant_approve(
    session: Session,
    provider: NotificationProvider | None,
    application: Application,
    item: ServiceItem,
) -> None:
    reason = "全部材料均由有效电子证照核验，系统秒批"
    for target in ("accepted", "in_review", "approved"):
        transition(session, provider, application, target, INSTANT_ACTOR, reason, item=item)
    if item.result_licence_type:
        transition(
            session, provider, application, "delivered", INSTANT_ACTOR, "结果已以电子证照送达"
        )


def transition(
    session: Session,
    provider: NotificationProvider | None,
    application: Application,
    target: str,
    actor: str,
    reason: str,
    *,
    item: ServiceItem | None = None,
) -> Application:
    """Move along the state machine, with history and a notice to the citizen."""
    try:
        workflow.check_transition(application.state, target)
    except workflow.TransitionRefused as err:
        raise ApplicationRefused(409, str(err)) from err
    if target == "submitted" and application.citizen_id is None:
        raise ApplicationRefused(409, "the applicant must be matched to a citizen first")
    now = utcnow()
    previous = application.state
    application.state = target
    application.updated_at = now
    if target == "accepted":
        item = item or session.get(ServiceItem, application.item_code)
        days, unit = (item.promised_limit_days, item.limit_unit) if item else (20, "working")
        application.deadline_at = workflow.deadline(now, max(days, 1), unit)
    if target in ("approved", "rejected"):
        application.concluded_at = now
        application.result = reason[:500]
    if target == "approved":
        item = item or session.get(ServiceItem, application.item_code)
        if item is not None and item.result_licence_type and application.citizen_id:
            _issue_result(session, application, item, now)
    session.flush()
    _history(session, application, previous, target, actor, reason)
    _notify_change(session, provider, application, reason)
    return application


def _issue_result(
    session: Session, application: Application, item: ServiceItem, now: datetime
) -> None:
    department = item.department_code
    from backend.models import Department  # the issuer's name for the licence

    issuer = session.get(Department, department)
    licences_service.issue(
        session,
        licence_no=f"{item.result_licence_type}-{application.receipt_no}"[:64],
        citizen_id=application.citizen_id,  # type: ignore[arg-type]
        type_code=item.result_licence_type,  # type: ignore[arg-type]
        title=item.name.removeprefix("开具").removesuffix("开具"),
        issuer=issuer.name if issuer else department,
        fields={"事项": item.name, "办件编号": application.receipt_no},
        valid_until=now + timedelta(days=90),
        source_application_id=application.id,
    )


def supplement(
    session: Session,
    provider: NotificationProvider | None,
    application: Application,
    citizen: Citizen,
    materials: list[dict[str, Any]],
    note: str,
    actor: str,
) -> Application:
    """补正: the citizen adds what the reviewer asked for; the case goes back to review."""
    if application.state != "more_material_needed":
        raise ApplicationRefused(409, "只有“需补正材料”的办件可以补充材料")
    item = session.get(ServiceItem, application.item_code)
    if item is None:
        raise ApplicationRefused(404, f"没有编码为 {application.item_code} 的事项")
    given = [m for m in application.materials if m.get("source") not in ("pending", None)]
    resolved, _ = resolve_materials(session, item, citizen.id, [*given, *materials])
    application.materials = resolved
    return transition(
        session, provider, application, "in_review", actor, note or "申请人已补正材料"
    )


def match_applicant(
    session: Session,
    provider: NotificationProvider | None,
    application: Application,
    citizen: Citizen,
    actor: str,
    reason: str,
) -> Application:
    if application.state != "unmatched":
        raise ApplicationRefused(409, "only an unmatched application can be matched")
    application.citizen_id = citizen.id
    application.applicant_masked = citizen.id_number_masked
    application.unmatched_reason = None
    application.proof = proofs.reviewer(actor, reason)
    return transition(session, provider, application, "submitted", actor, reason)


# --- kiosk events ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resolver:
    """What ingest needs to resolve a kiosk applicant: the data keys and the sealing key."""

    keys: DataKeys | None
    unseal: Any  # callable(token: str) -> bytes, or None when the sealing key is unavailable
    # the card issuer's public key (devices.card.auth.IssuerPublicKey), to check an offline
    # kiosk's card proof; None: offline applications wait for a reviewer
    issuer_public_key: Any = None


class EventRefused(Exception):
    """A kiosk event whose side effect must not happen: kept as a dead letter with ``code``."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class Applicant:
    """Who a kiosk event names, and what proved it (or why nothing did)."""

    citizen: Citizen | None
    proof: dict[str, Any] | None
    reason: str | None = None


def _unproven(reason: str, **claimed: Any) -> Applicant:
    return Applicant(None, {"kind": "unproven", **claimed} if claimed else None, reason)


def _resolve_applicant(
    session: Session,
    resolver: Resolver,
    *,
    kiosk_id: str,
    ts: datetime,
    body: dict[str, Any],
) -> Applicant:
    """The citizen a kiosk application is for, only with proof that they were at that kiosk."""
    from backend.services import citizens as citizens_service

    if body.get("citizen_id"):
        claimed = str(body["citizen_id"])
        checked = proofs.kiosk_session(
            session,
            kiosk_id=kiosk_id,
            citizen_id=claimed,
            session_ref=body.get("citizen_session"),
            at=ts,
        )
        if not checked.holds:
            return _unproven(checked.reason or "", claimed_citizen_id=claimed)
        citizen = session.get(Citizen, claimed)
        if citizen is None:
            return _unproven("会话中的公民编号在人口库中不存在", claimed_citizen_id=claimed)
        return Applicant(citizen, checked.proof)
    sealed = body.get("applicant_sealed")
    if not sealed:
        return _unproven("事件未携带申请人身份")
    if resolver.unseal is None or resolver.keys is None:
        return _unproven("后端解封密钥不可用，待人工核实")
    try:
        applicant = json.loads(resolver.unseal(sealed))
        id_number, name = str(applicant["id_number"]), str(applicant["name"])
    except Exception as err:  # any failure to open means: not resolvable
        logger.warning("sealed applicant could not be opened: %s", type(err).__name__)
        return _unproven("申请人密封信息无法解开")
    try:
        citizen = citizens_service.find_by_id_number(session, resolver.keys, id_number)
    except citizens_service.CitizenRefused:
        return _unproven("密封信息中的身份证号码无效")
    if citizen is None:
        return _unproven("申请人不在人口库中")
    if citizen.name != name.strip():
        return _unproven("申请人姓名与人口库记录不一致", claimed_citizen_id=citizen.id)
    if not body.get("offline_proof"):
        return _unproven(
            "离线申请未附带证件的签名应答，无法证明申请人在该终端", claimed_citizen_id=citizen.id
        )
    checked = proofs.offline_card(
        session,
        resolver.issuer_public_key,
        body["offline_proof"],
        kiosk_id=kiosk_id,
        receipt_no=body["receipt_no"],
        item_code=body["item_code"],
        applicant_sealed=sealed,
        id_number=id_number,
    )
    if not checked.holds:
        return _unproven(checked.reason or "", claimed_citizen_id=citizen.id)
    return Applicant(citizen, checked.proof)


def _same_application(application: Application, event_id: str, body: dict[str, Any]) -> bool:
    return application.event_id == event_id and application.item_code == body.get("item_code")


def ingest_kiosk_application(
    session: Session,
    resolver: Resolver,
    provider: NotificationProvider | None,
    *,
    event_id: str,
    kiosk_id: str,
    ts: datetime,
    body: dict[str, Any],
) -> Application | None:
    """Turn one ``application.submitted`` event into an application, once.

    The receipt number must be the sending kiosk's own (EventRefused otherwise), and
    a number already used by a different event is a conflict (EventRefused), never a
    silent duplicate. The applicant counts only with proof that they were at this
    kiosk; an application without it is kept ``unmatched`` for a reviewer.
    """
    receipt_no = body["receipt_no"]
    if not receipts.belongs_to(receipt_no, kiosk_id):
        raise EventRefused(
            "foreign_receipt", f"受理编号 {receipt_no} 不属于发送终端 {kiosk_id}，申请未受理"
        )
    existing = session.scalar(
        select(Application).where(
            or_(Application.receipt_no == receipt_no, Application.event_id == event_id)
        )
    )
    if existing is not None:
        if _same_application(existing, event_id, body):
            return None  # the same event again: already an application
        raise EventRefused(
            "conflict",
            f"受理编号 {receipt_no} 或事件 {event_id} 已被另一份申请使用"
            f"（已有申请 {existing.receipt_no}，事件 {existing.event_id}），本事件未受理",
        )
    applicant = _resolve_applicant(session, resolver, kiosk_id=kiosk_id, ts=ts, body=body)
    why = applicant.reason
    supplied = [
        {k: v for k, v in m.items() if k in ("name", "source", "licence_no") and v}
        for m in body.get("materials", [])
    ]
    actor = f"kiosk:{kiosk_id}"
    kiosk_session_id = str(body["session_id"]) if body.get("session_id") else None
    if applicant.citizen is not None:
        try:  # submit refuses before it writes anything, so no savepoint is needed
            return submit(
                session,
                provider,
                citizen=applicant.citizen,
                item_code=body["item_code"],
                form=dict(body.get("form", {})),
                materials=supplied,
                channel="kiosk",
                kiosk_id=kiosk_id,
                receipt_no=receipt_no,
                event_id=event_id,
                submitted_at=ts,
                actor=actor,
                proof=applicant.proof,
                kiosk_session_id=kiosk_session_id,
                keys=resolver.keys,
            )
        except ApplicationRefused as err:
            why = f"申请无法自动受理：{err}"
    item = session.get(ServiceItem, body["item_code"])
    now = utcnow()
    application = Application(
        id=str(uuid.uuid4()),
        receipt_no=receipt_no,
        item_code=body["item_code"],
        item_name=item.name if item else body.get("item_name", ""),
        department_code=item.department_code if item else None,
        # Proven but refused (a material not the applicant's): theirs to see. Unproven: nobody's
        # until a reviewer matches it; the claimed citizen stays in ``proof`` for the reviewer.
        citizen_id=applicant.citizen.id if applicant.citizen else None,
        applicant_masked=body.get("applicant", "")[:18],
        channel="kiosk",
        kiosk_id=kiosk_id,
        event_id=event_id,
        state="unmatched",
        unmatched_reason=(why or "")[:300],
        **private_data.protect_form(body.get("form"), resolver.keys),
        materials=supplied,
        submitted_at=ts,
        updated_at=now,
        proof=applicant.proof,
        kiosk_session_id=kiosk_session_id,
    )
    session.add(application)
    session.flush()
    _history(session, application, None, "unmatched", actor, why or "")
    return application


# --- reading -----------------------------------------------------------------------------------


def get_by_id_or_receipt(session: Session, key: str) -> Application | None:
    return session.scalar(
        select(Application).where(or_(Application.id == key, Application.receipt_no == key))
    )


def history(session: Session, application_id: str) -> list[ApplicationHistory]:
    return list(
        session.scalars(
            select(ApplicationHistory)
            .where(ApplicationHistory.application_id == application_id)
            .order_by(ApplicationHistory.id)
        )
    )


def list_applications(
    session: Session,
    *,
    citizen_id: str | None = None,
    department: str | None = None,
    state: str | None = None,
    overdue: bool | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[Application], str | None]:
    query = select(Application)
    if citizen_id is not None:
        query = query.where(Application.citizen_id == citizen_id)
    if department:
        query = query.where(Application.department_code == department)
    if state:
        query = query.where(Application.state == state)
    if overdue is not None:
        now = utcnow()
        late = (Application.state.in_(workflow.OPEN_STATES)) & (Application.deadline_at < now)
        query = query.where(late if overdue else ~late | Application.deadline_at.is_(None))
    if cursor:
        at, key = decode_cursor(cursor, datetime, str)
        query = query.where(
            (Application.submitted_at < at)
            | ((Application.submitted_at == at) & (Application.id < key))
        )
    rows = list(
        session.scalars(
            query.order_by(Application.submitted_at.desc(), Application.id.desc()).limit(limit + 1)
        )
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].submitted_at.isoformat(), rows[-1].id)
    return rows, next_cursor


def count_by_state(session: Session) -> dict[str, int]:
    return dict(
        session.execute(select(Application.state, func.count()).group_by(Application.state))
    )
