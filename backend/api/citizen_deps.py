"""Dependencies of the citizen-facing routers: keys, providers, and who the citizen is.

A citizen token made by a kiosk session is bound to that kiosk: a request
with it must also carry that kiosk's valid request signature
(``authenticated_kiosk``), else 401, so a token read off a kiosk's screen or
memory is useless anywhere else. Tokens of the mini-app stand alone, but reach a
citizen only through their phone's live binding (backend/services/bindings.py),
checked on every request: a revoked binding's tokens read nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from backend.api.deps import SessionDep, authenticated_kiosk
from backend.core.config import Settings
from backend.gov import keys as gov_keys
from backend.gov.providers import (
    FaceCheckProvider,
    NotificationProvider,
    SmsProvider,
    face_check_provider,
    notification_provider,
    sms_provider,
)
from backend.models import Citizen, CitizenAccount, CitizenToken
from backend.services import bindings as bindings_service
from backend.services import citizens as citizens_service
from provisioning.ca import CAError, ca_passphrase

citizen_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="citizen",
    description="a citizen token from a kiosk session or the mini-app log-in",
)


def get_settings_of(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings_of)]


def get_data_keys(settings: SettingsDep) -> gov_keys.DataKeys:
    try:
        return gov_keys.load_data_keys(settings.ca_dir, ca_passphrase())
    except (CAError, gov_keys.KeyUnavailable, OSError) as err:
        raise HTTPException(503, detail=f"citizen data keys are not available: {err}") from err


def get_sealing_key(settings: SettingsDep) -> X25519PrivateKey:
    try:
        return gov_keys.load_sealing_key(settings.ca_dir, ca_passphrase())
    except (CAError, gov_keys.KeyUnavailable, OSError) as err:
        raise HTTPException(503, detail=f"the sealing key is not available: {err}") from err


def get_notifier(settings: SettingsDep) -> NotificationProvider:
    return notification_provider(settings.dev_outbox_dir)


def get_sms(settings: SettingsDep) -> SmsProvider:
    return sms_provider(settings.dev_outbox_dir, settings.sms_gateway_url)


def get_face_check(settings: SettingsDep) -> FaceCheckProvider | None:
    if settings.face_check == "off":
        return None
    return face_check_provider(settings.face_check, get_data_keys(settings).signing)


KeysDep = Annotated[gov_keys.DataKeys, Depends(get_data_keys)]
FaceCheckDep = Annotated[FaceCheckProvider | None, Depends(get_face_check)]
SealingKeyDep = Annotated[X25519PrivateKey, Depends(get_sealing_key)]
NotifierDep = Annotated[NotificationProvider, Depends(get_notifier)]
SmsDep = Annotated[SmsProvider, Depends(get_sms)]


def sms_policy(settings: Settings) -> citizens_service.SmsPolicy:
    return citizens_service.SmsPolicy(
        code_ttl_s=settings.sms_code_ttl_s,
        min_interval_s=settings.sms_min_interval_s,
        max_per_hour=settings.sms_max_per_hour,
        max_failures=settings.login_max_failures,
        lockout=timedelta(minutes=settings.login_lockout_minutes),
        source_codes=settings.source_sms_codes,
        source_failures=settings.source_login_failures,
        source_window=timedelta(seconds=settings.source_window_s),
    )


def binding_policy(settings: Settings) -> bindings_service.BindingPolicy:
    return bindings_service.BindingPolicy(
        max_phones=settings.max_phones_per_citizen,
        code_ttl_s=settings.sms_code_ttl_s,
        min_interval_s=settings.sms_min_interval_s,
        max_codes_per_hour=settings.sms_max_per_hour,
        max_attempts=settings.login_max_failures,
        lockout=timedelta(minutes=settings.login_lockout_minutes),
    )


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(401, detail=message, headers={"WWW-Authenticate": "Bearer"})


async def kiosk_once(request: Request, session: SessionDep) -> str:
    """``authenticated_kiosk``, run at most once per request (its nonce can be used only once)."""
    kiosk_id = getattr(request.state, "signed_kiosk_id", None)
    if kiosk_id is None:
        kiosk_id = await authenticated_kiosk(request, session)
        request.state.signed_kiosk_id = kiosk_id
    return kiosk_id


SignedKioskDep = Annotated[str, Depends(kiosk_once)]


async def citizen_token(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(citizen_bearer)],
) -> CitizenToken:
    """The live citizen token of this request; a kiosk-bound one also needs its kiosk's signature."""
    if credentials is None:
        raise _unauthorized("请先登录（a citizen token is required: Authorization: Bearer ...）")
    row = citizens_service.authenticate_token(session, credentials.credentials)
    if row is None:
        raise _unauthorized(
            "登录已失效，请重新登录（the citizen token is unknown, expired or revoked）"
        )
    if row.kiosk_id is not None:
        if not request.headers.get("x-kiosk-signature"):
            raise _unauthorized(
                "此凭证仅限办理所在的自助终端使用（this token belongs to a kiosk session; the kiosk must sign）"
            )
        kiosk_id = await kiosk_once(request, session)
        if kiosk_id != row.kiosk_id:
            raise _unauthorized(
                "此凭证属于另一台自助终端（this token belongs to a session at another kiosk）"
            )
    return row


TokenDep = Annotated[CitizenToken, Depends(citizen_token)]


@dataclass(frozen=True)
class CitizenContext:
    citizen: Citizen
    token: CitizenToken

    @property
    def actor(self) -> str:
        """Who reads: the citizen, through which channel (kiosk id when at a kiosk)."""
        where = f"kiosk:{self.token.kiosk_id}" if self.token.kiosk_id else "app"
        return f"citizen:{self.citizen.id}@{where}"


def current_citizen(session: SessionDep, token: TokenDep) -> CitizenContext:
    if token.citizen_id is None:
        raise HTTPException(
            403,
            detail="请先完成实名认证（real-name binding is required first: POST /api/v1/app/real-name）",
        )
    if not bindings_service.token_may_read(session, token):
        raise _unauthorized(
            "此手机已解除绑定，请重新登录（the phone binding of this token was revoked）"
        )
    citizen = session.get(Citizen, token.citizen_id)
    if citizen is None:
        raise _unauthorized("the citizen of this token no longer exists")
    return CitizenContext(citizen, token)


CitizenDep = Annotated[CitizenContext, Depends(current_citizen)]


def current_account(session: SessionDep, token: TokenDep) -> tuple[CitizenAccount, CitizenToken]:
    if token.account_id is None:
        raise HTTPException(
            403, detail="请在移动端登录后办理（this needs a mini-app log-in, not a kiosk session）"
        )
    account = session.get(CitizenAccount, token.account_id)
    if account is None:
        raise _unauthorized("the account of this token no longer exists")
    return account, token


AccountDep = Annotated[tuple[CitizenAccount, CitizenToken], Depends(current_account)]
