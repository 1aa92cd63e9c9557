"""/api/v1/app: the mini-app's log-in by phone number and SMS code, and real-name binding.

A one-time code is sent through the SMS provider (in development it is
written to ``FLEET_DEV_OUTBOX_DIR/sms.jsonl``). Codes are rate-limited per
number (one a minute, a few an hour); too many wrong codes lock the number
for a while. The log-in token reaches the citizen's data only after
the phone is bound to a registry entry with proof of control (实名绑定,
backend/services/bindings.py): name and identity number, then either the
log-in itself (this phone is the registered number), a code sent to the
registered number, or a face check.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, Field

from backend.api.citizen_deps import (
    AccountDep,
    FaceCheckDep,
    KeysDep,
    NotifierDep,
    SettingsDep,
    SmsDep,
    TokenDep,
    binding_policy,
    sms_policy,
)
from backend.api.deps import SessionDep, client_address
from backend.gov.providers import SmsUnavailable
from backend.models import BindingChallenge, Citizen, CitizenAccount, PhoneBinding
from backend.services import bindings as bindings_service
from backend.services import citizen_audit
from backend.services import citizens as citizens_service

router = APIRouter(prefix="/api/v1/app", tags=["mini-app"])

# Refusals of a logged-in phone are never 401: the mini-app takes 401 for "log in again".
STATUS = {
    "bad_phone": 422,
    "bad_id_number": 422,
    "too_soon": 429,
    "too_many_codes": 429,
    "source_throttled": 429,
    "locked": 429,
    "bind_locked": 429,
    "wrong_code": 401,
    "code_expired": 401,
    "real_name_mismatch": 403,
    "bind_code_wrong": 403,
    "bind_code_expired": 403,
    "face_not_matched": 403,
    "no_challenge": 404,
    "already_bound": 409,
    "already_bound_here": 409,
    "phones_full": 409,
    "no_registered_phone": 409,
}


def _refused(err: citizens_service.CitizenRefused) -> HTTPException:
    headers = {"Retry-After": str(err.retry_after_s)} if err.retry_after_s else None
    return HTTPException(
        STATUS.get(err.code, 400), detail={"reason": err.code, "message": str(err)}, headers=headers
    )


class CodeRequest(BaseModel):
    phone: str = Field(min_length=11, max_length=11, pattern=r"^1[3-9]\d{9}$")


class CodeSent(BaseModel):
    sent: bool
    expires_in_s: int


class LoginRequest(BaseModel):
    phone: str = Field(min_length=11, max_length=11, pattern=r"^1[3-9]\d{9}$")
    code: str = Field(min_length=6, max_length=6, pattern=r"^\d{6}$")


class AccountPublic(BaseModel):
    phone_masked: str
    real_name_bound: bool
    citizen_id: str | None


class LoginResponse(BaseModel):
    token: str
    expires_at: datetime
    account: AccountPublic


class RealNameRequest(BaseModel):
    name: str = Field(min_length=1, max_length=50)
    id_number: str = Field(min_length=18, max_length=18)


class BindingProof(BaseModel):
    method: Literal["sms", "face"]
    phone_masked: str | None = None  # sms: the registered number the code goes to


class RealNameResponse(BaseModel):
    """``bound``: this phone now reads the citizen's data; otherwise ``proofs`` says what may follow."""

    bound: bool
    citizen_id: str | None = None
    name: str | None = None
    id_number_masked: str | None = None
    proof: str | None = None
    proofs: list[BindingProof] = []


class BindingCodeSent(BaseModel):
    challenge_id: str
    phone_masked: str
    expires_in_s: int


class FaceCheckStarted(BaseModel):
    challenge_id: str
    face_session: str
    expires_in_s: int


class ConfirmRequest(BaseModel):
    challenge_id: str = Field(min_length=36, max_length=36, pattern=r"^[0-9a-f-]{36}$")
    code: str | None = Field(default=None, min_length=6, max_length=6, pattern=r"^\d{6}$")
    face_session: str | None = Field(default=None, max_length=200, pattern=r"^[A-Za-z0-9._-]+$")
    face_result: str | None = Field(default=None, max_length=200, pattern=r"^[A-Za-z0-9._-]+$")


@router.post("/auth/sms-code", response_model=CodeSent, status_code=202)
def request_code(
    request: Request,
    session: SessionDep,
    keys: KeysDep,
    sms: SmsDep,
    settings: SettingsDep,
    body: CodeRequest,
) -> CodeSent:
    try:
        ttl = citizens_service.request_code(
            session, keys, sms, sms_policy(settings), body.phone, source=client_address(request)
        )
    except citizens_service.CitizenRefused as err:
        raise _refused(err) from err
    except SmsUnavailable as err:  # nothing was sent: the code is not kept, the limit not spent
        raise HTTPException(
            503, detail={"reason": "sms_unavailable", "message": "短信暂时无法发送，请稍后再试"}
        ) from err
    session.commit()
    return CodeSent(sent=True, expires_in_s=ttl)


@router.post("/auth/login", response_model=LoginResponse)
def login(
    request: Request, session: SessionDep, keys: KeysDep, settings: SettingsDep, body: LoginRequest
) -> LoginResponse:
    try:
        issued, account = citizens_service.login_with_code(
            session,
            keys,
            sms_policy(settings),
            body.phone,
            body.code,
            ttl=timedelta(minutes=settings.app_token_minutes),
            source=client_address(request),
        )
    except citizens_service.CitizenRefused as err:
        raise _refused(err) from err
    session.commit()
    return LoginResponse(
        token=issued.token,
        expires_at=issued.expires_at,
        account=AccountPublic(
            phone_masked=account.phone_masked,
            real_name_bound=account.citizen_id is not None,
            citizen_id=account.citizen_id,
        ),
    )


@router.post("/auth/logout", status_code=204)
def logout(session: SessionDep, token: TokenDep) -> Response:
    citizens_service.revoke_token(session, token)
    session.commit()
    return Response(status_code=204)


@router.get("/account", response_model=AccountPublic)
def account(current: AccountDep) -> AccountPublic:
    acc, _ = current
    return AccountPublic(
        phone_masked=acc.phone_masked,
        real_name_bound=acc.citizen_id is not None,
        citizen_id=acc.citizen_id,
    )


def _actor(acc: CitizenAccount) -> str:
    return f"account:{acc.id}:{acc.phone_masked}@app"


def _bound(citizen: Citizen, binding: PhoneBinding) -> RealNameResponse:
    return RealNameResponse(
        bound=True,
        citizen_id=citizen.id,
        name=citizen.name,
        id_number_masked=citizen.id_number_masked,
        proof=binding.proof,
    )


@router.post("/real-name", response_model=RealNameResponse)
def bind_real_name(
    session: SessionDep,
    keys: KeysDep,
    sms: SmsDep,
    notifier: NotifierDep,
    face: FaceCheckDep,
    settings: SettingsDep,
    current: AccountDep,
    body: RealNameRequest,
) -> RealNameResponse:
    """Step one: name and identity number. Bound at once when this phone's log-in proved the
    number registered to them; otherwise the answer lists the proofs that can follow."""
    acc, token = current
    try:
        offer = bindings_service.offer(
            session,
            keys,
            sms,
            notifier,
            binding_policy(settings),
            acc,
            token,
            name=body.name,
            id_number=body.id_number,
            face_available=face is not None,
        )
    except citizens_service.CitizenRefused as err:
        raise _refused(err) from err
    citizen = offer.citizen
    if offer.binding is not None:
        citizen_audit.record(
            session,
            actor=_actor(acc),
            citizen_id=citizen.id,
            action="real_name.bind",
            detail=f"phone bound, proof {offer.binding.proof}",
        )
        session.commit()
        return _bound(citizen, offer.binding)
    proofs = []
    if offer.sms_to:
        proofs.append(BindingProof(method="sms", phone_masked=offer.sms_to))
    if offer.face:
        proofs.append(BindingProof(method="face"))
    citizen_audit.record(
        session,
        actor=_actor(acc),
        citizen_id=citizen.id,
        action="real_name.match",
        detail="name and identity number matched the registry; proof of control asked",
    )
    session.commit()
    return RealNameResponse(
        bound=False, name=citizen.name, id_number_masked=citizen.id_number_masked, proofs=proofs
    )


@router.post("/real-name/sms-code", response_model=BindingCodeSent, status_code=202)
def send_binding_code(
    session: SessionDep,
    keys: KeysDep,
    sms: SmsDep,
    settings: SettingsDep,
    current: AccountDep,
    body: RealNameRequest,
) -> BindingCodeSent:
    """Step two (SMS): a code to the number registered to this identity, naming this phone."""
    acc, token = current
    policy = binding_policy(settings)
    try:
        challenge, masked = bindings_service.send_code(
            session, keys, sms, policy, acc, token, name=body.name, id_number=body.id_number
        )
    except citizens_service.CitizenRefused as err:
        raise _refused(err) from err
    except SmsUnavailable as err:  # nothing was sent: the challenge is not kept
        raise HTTPException(
            503, detail={"reason": "sms_unavailable", "message": "短信暂时无法发送，请稍后再试"}
        ) from err
    citizen_audit.record(
        session,
        actor=_actor(acc),
        citizen_id=challenge.citizen_id,
        action="real_name.code_sent",
        detail=f"binding code sent to {masked}",
    )
    session.commit()
    return BindingCodeSent(
        challenge_id=challenge.id, phone_masked=masked, expires_in_s=policy.code_ttl_s
    )


@router.post("/real-name/face-check", response_model=FaceCheckStarted, status_code=201)
def start_face_check(
    session: SessionDep,
    keys: KeysDep,
    face: FaceCheckDep,
    settings: SettingsDep,
    current: AccountDep,
    body: RealNameRequest,
) -> FaceCheckStarted:
    """Step two (face): a face-check session against the registry entry, for the phone's SDK."""
    acc, token = current
    if face is None:
        raise HTTPException(
            409,
            detail={"reason": "face_unavailable", "message": "暂不支持人脸核验，请使用短信验证"},
        )
    policy = binding_policy(settings)
    try:
        challenge, face_session = bindings_service.start_face_check(
            session, keys, face, policy, acc, token, name=body.name, id_number=body.id_number
        )
    except citizens_service.CitizenRefused as err:
        raise _refused(err) from err
    citizen_audit.record(
        session,
        actor=_actor(acc),
        citizen_id=challenge.citizen_id,
        action="real_name.face_started",
        detail="face check opened against the registry entry",
    )
    session.commit()
    return FaceCheckStarted(
        challenge_id=challenge.id, face_session=face_session, expires_in_s=policy.code_ttl_s
    )


@router.post("/real-name/confirm", response_model=RealNameResponse)
def confirm_binding(
    session: SessionDep,
    keys: KeysDep,
    sms: SmsDep,
    notifier: NotifierDep,
    face: FaceCheckDep,
    settings: SettingsDep,
    current: AccountDep,
    body: ConfirmRequest,
) -> RealNameResponse:
    """Step three: the code (or the face check's result); bound when it proves control."""
    acc, token = current
    try:
        binding, citizen = bindings_service.confirm(
            session,
            keys,
            sms,
            notifier,
            face,
            binding_policy(settings),
            acc,
            token,
            challenge_id=body.challenge_id,
            code=body.code,
            face_session=body.face_session,
            face_result=body.face_result,
        )
    except citizens_service.CitizenRefused as err:
        challenge = session.get(BindingChallenge, body.challenge_id)
        if challenge is not None and challenge.account_id == acc.id:
            citizen_audit.record(
                session,
                actor=_actor(acc),
                citizen_id=challenge.citizen_id,
                action="real_name.proof_refused",
                detail=f"binding proof refused: {err.code}",
            )
            session.commit()
        raise _refused(err) from err
    citizen_audit.record(
        session,
        actor=_actor(acc),
        citizen_id=citizen.id,
        action="real_name.bind",
        detail=f"phone bound, proof {binding.proof}",
    )
    session.commit()
    return _bound(citizen, binding)
