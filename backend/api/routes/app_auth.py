"""/api/v1/app: the mini-app's log-in by phone number and SMS code, and real-name binding.

A one-time code is sent through the SMS provider (in development it is
written to ``FLEET_DEV_OUTBOX_DIR/sms.jsonl``). Codes are rate-limited per
number (one a minute, a few an hour); too many wrong codes lock the number
for a while. The log-in token reaches the citizen's data only after
real-name binding matched the registry (实名认证).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, Field

from backend.api.citizen_deps import (
    AccountDep,
    KeysDep,
    SettingsDep,
    SmsDep,
    TokenDep,
    sms_policy,
)
from backend.api.deps import SessionDep, client_address
from backend.gov.providers import SmsUnavailable
from backend.services import citizen_audit
from backend.services import citizens as citizens_service

router = APIRouter(prefix="/api/v1/app", tags=["mini-app"])

STATUS = {
    "bad_phone": 422,
    "bad_id_number": 422,
    "too_soon": 429,
    "too_many_codes": 429,
    "source_throttled": 429,
    "locked": 429,
    "wrong_code": 401,
    "code_expired": 401,
    "real_name_mismatch": 403,
    "already_bound": 409,
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


class RealNameResponse(BaseModel):
    citizen_id: str
    name: str
    id_number_masked: str


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


@router.post("/real-name", response_model=RealNameResponse)
def bind_real_name(
    session: SessionDep,
    keys: KeysDep,
    settings: SettingsDep,
    current: AccountDep,
    body: RealNameRequest,
) -> RealNameResponse:
    acc, token = current
    try:
        citizen = citizens_service.bind_real_name(
            session,
            keys,
            sms_policy(settings),
            acc,
            token,
            name=body.name,
            id_number=body.id_number,
        )
    except citizens_service.CitizenRefused as err:
        raise _refused(err) from err
    citizen_audit.record(
        session,
        actor=f"account:{acc.id}@app",
        citizen_id=citizen.id,
        action="real_name.bind",
        detail="name and identity number matched the registry",
    )
    session.commit()
    return RealNameResponse(
        citizen_id=citizen.id, name=citizen.name, id_number_masked=citizen.id_number_masked
    )
