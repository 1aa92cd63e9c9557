"""Citizens: the registry, kiosk-vouched sessions, mini-app log-in by SMS code, real-name binding.

One citizen, one id, whichever channel (一地注册, 全网通办): a kiosk vouches
for the person it saw (card plus face) and gets a token bound to itself; the
mini-app logs a phone number in with a one-time code, and a phone binding
(backend/services/bindings.py: name and identity number, plus proof of
control of the registered number or a face check) ties that account to a
registry entry. Both tokens lead to the same citizen and the same data.

Identity and phone numbers: validated (python-stdnum for identity numbers),
stored encrypted with a keyed hash for look-ups (backend/gov/keys.py), shown
masked. Tokens and codes are stored as SHA-256 hashes only.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from stdnum.cn import ric
from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
)
from stdnum.exceptions import ValidationError as StdnumError

from backend.core.privacy import mask_identity_number
from backend.gov.keys import DataKeys
from backend.gov.providers import SmsProvider, SmsUnavailable, mask_phone
from backend.models import Citizen, CitizenAccount, CitizenToken, PhoneBinding, SmsCode
from backend.models.base import utcnow
from backend.services import throttle

PHONE = re.compile(r"1[3-9]\d{9}")
TOKEN_PREFIX = "ct_"


class CitizenRefused(Exception):
    """Why a citizen request was refused; ``code`` is stable, the message is for the person."""

    def __init__(self, code: str, message: str, retry_after_s: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.retry_after_s = retry_after_s


_ID_BAD = "身份证号码无效，请核对后重新输入"
_ID_NUMBER_PROBLEMS: dict[type[StdnumError], str] = {
    InvalidLength: "身份证号码应为 18 位（最后一位可能是 X）",
    InvalidFormat: "身份证号码格式不对：前 17 位是数字，最后一位是数字或 X",
    InvalidChecksum: "身份证号码校验位不对，请逐位核对",
    InvalidComponent: "身份证号码中的地区代码或出生日期不对，请核对",
}


EARLIEST_BIRTH = date(1900, 1, 1)
CHINA = timezone(timedelta(hours=8))  # the birth date on a number is a date in China
_BIRTH_IMPOSSIBLE = "身份证号码中的出生日期不可能（早于 1900 年或晚于今天），请核对"


def normalise_id_number(value: str, *, today: date | None = None) -> str:
    """The identity number, checked (address code, birth date, check digit), upper case.
    Beyond python-stdnum's checks (a real date), the birth date is between 1900 and today;
    devices/card/identity.py's ``check_id_number`` applies the same rule at the kiosk."""
    try:
        number = ric.validate(value.strip().upper())
    except StdnumError as err:
        raise CitizenRefused("bad_id_number", _ID_NUMBER_PROBLEMS.get(type(err), _ID_BAD)) from err
    born = ric.get_birth_date(number)
    if not EARLIEST_BIRTH <= born <= (today or datetime.now(CHINA).date()):
        raise CitizenRefused("bad_id_number", _BIRTH_IMPOSSIBLE)
    return number


def validate_phone(value: str) -> str:
    phone = value.strip()
    if not PHONE.fullmatch(phone):
        raise CitizenRefused("bad_phone", "手机号码应为 11 位数字，以 1 开头")
    return phone


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# --- the registry ------------------------------------------------------------------------------


def upsert_citizen(
    session: Session,
    keys: DataKeys,
    *,
    citizen_id: str,
    name: str,
    id_number: str,
    phone: str | None,
    region_code: str | None = None,
) -> Citizen:
    id_number = normalise_id_number(id_number)
    if phone is not None:
        phone = validate_phone(phone)
    id_hash = keys.lookup_hash("ric", id_number)
    citizen = session.scalar(select(Citizen).where(Citizen.id_number_hash == id_hash))
    if citizen is None:
        citizen = session.get(Citizen, citizen_id) or Citizen(id=citizen_id, created_at=utcnow())
        session.add(citizen)
    citizen.name = name
    citizen.id_number_enc = keys.encrypt(id_number)
    citizen.id_number_hash = id_hash
    citizen.id_number_masked = mask_identity_number(id_number)
    citizen.phone_enc = keys.encrypt(phone) if phone else None
    citizen.phone_hash = keys.lookup_hash("phone", phone) if phone else None
    citizen.phone_masked = mask_phone(phone) if phone else None
    citizen.gender = "M" if int(id_number[16]) % 2 else "F"
    citizen.region_code = region_code or id_number[:6]
    session.flush()
    return citizen


def find_by_id_number(session: Session, keys: DataKeys, id_number: str) -> Citizen | None:
    id_number = normalise_id_number(id_number)
    return session.scalar(
        select(Citizen).where(Citizen.id_number_hash == keys.lookup_hash("ric", id_number))
    )


def get_citizen(session: Session, citizen_id: str) -> Citizen | None:
    return session.get(Citizen, citizen_id)


def names_match(a: str, b: str) -> bool:
    return hmac.compare_digest(a.strip().encode(), b.strip().encode())


# --- tokens ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime
    ref: str | None = None  # kiosk sessions: the public reference events name (never a credential)


KEEP_EXPIRED = timedelta(days=1)
# A kiosk session is the proof behind the applications and ratings its kiosk sends for the
# citizen; those may wait in the kiosk's outbox while the broker is away, so the record of the
# session is kept this long after it ended (an event later than that waits for a reviewer).
KEEP_KIOSK_SESSIONS = timedelta(days=30)


def _prune(session: Session, now: datetime) -> None:
    """Forget tokens and codes a day after they expired (each new log-in sweeps)."""
    session.execute(
        delete(CitizenToken).where(
            ((CitizenToken.kiosk_id.is_(None)) & (CitizenToken.expires_at < now - KEEP_EXPIRED))
            | (CitizenToken.expires_at < now - KEEP_KIOSK_SESSIONS)
        )
    )
    session.execute(delete(SmsCode).where(SmsCode.expires_at < now - KEEP_EXPIRED))


def _issue(
    session: Session,
    *,
    channel: str,
    ttl: timedelta,
    citizen_id: str | None = None,
    account_id: str | None = None,
    kiosk_id: str | None = None,
    binding_id: str | None = None,
) -> IssuedToken:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    _prune(session, now)
    ref = str(uuid.uuid4()) if kiosk_id is not None else None
    session.add(
        CitizenToken(
            token_hash=_hash(token),
            channel=channel,
            citizen_id=citizen_id,
            account_id=account_id,
            kiosk_id=kiosk_id,
            ref=ref,
            binding_id=binding_id,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    return IssuedToken(token, now + ttl, ref)


def authenticate_token(session: Session, token: str) -> CitizenToken | None:
    """The live (unexpired, unrevoked) token row for ``token``, or None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    row = session.get(CitizenToken, _hash(token))
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    return row


def revoke_token(session: Session, row: CitizenToken) -> None:
    row.revoked_at = utcnow()


def kiosk_session(
    session: Session,
    keys: DataKeys,
    *,
    kiosk_id: str,
    id_number: str,
    name: str,
    face_decision: str,
    liveness: str,
    ttl: timedelta,
) -> tuple[IssuedToken, Citizen]:
    """A kiosk vouches for the person at it: a token bound to that kiosk, or a refusal."""
    if face_decision != "match":
        raise CitizenRefused(
            "face_not_matched", f"人脸核验未通过（{face_decision}），请到人工窗口办理"
        )
    if liveness != "passed":
        raise CitizenRefused("liveness_not_passed", "活体检测未通过，请到人工窗口办理")
    citizen = find_by_id_number(session, keys, id_number)
    if citizen is None:
        raise CitizenRefused("not_registered", "人口库中没有此身份证号码的记录")
    if not names_match(citizen.name, name):
        raise CitizenRefused("name_mismatch", "姓名与人口库记录不一致")
    # A kiosk serves one person at a time: a new session ends any the last one left open.
    session.execute(
        update(CitizenToken)
        .where(CitizenToken.kiosk_id == kiosk_id, CitizenToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    issued = _issue(session, channel="kiosk", ttl=ttl, citizen_id=citizen.id, kiosk_id=kiosk_id)
    return issued, citizen


# --- mini-app log-in ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SmsPolicy:
    code_ttl_s: int = 300
    min_interval_s: int = 60
    max_per_hour: int = 5
    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)
    source_codes: int = 10  # codes one client address may ask for per source_window
    source_failures: int = 10  # wrong codes one client address may send per source_window
    source_window: timedelta = timedelta(minutes=15)


def _minutes(seconds: int) -> int:
    return max(1, -(-seconds // 60))


def _locked(wait: int) -> CitizenRefused:
    return CitizenRefused(
        "locked", f"验证码错误次数过多，请 {_minutes(wait)} 分钟后再试", max(wait, 1)
    )


def request_code(
    session: Session,
    keys: DataKeys,
    sms: SmsProvider,
    policy: SmsPolicy,
    phone: str,
    *,
    source: str = "?",
) -> int:
    """Send a one-time code to ``phone``; returns its lifetime in seconds. Rate-limited per
    number and per client address (``source``) with atomic counters (services/throttle.py);
    commits the counters before sending."""
    phone = validate_phone(phone)
    phone_hash = keys.lookup_hash("phone", phone)
    login_key = throttle.key("sms-login", phone_hash)
    wait = throttle.wait_s(session, login_key, limit=policy.max_failures)
    if wait:
        raise _locked(wait)
    taken: list[str] = []

    def spend(counter: str, limit: int, window: timedelta, code: str, message: str) -> None:
        got = throttle.take(session, counter, limit=limit, window=window)
        if not got:
            for earlier in taken:
                throttle.give_back(session, earlier)
            session.commit()
            wait = got.retry_after_s
            raise CitizenRefused(code, message.format(s=wait, m=_minutes(wait)), wait)
        taken.append(counter)

    spend(throttle.key("sms-source", source), policy.source_codes, policy.source_window,
          "source_throttled", "此网络获取验证码过于频繁，请 {m} 分钟后再试")  # fmt: skip
    if policy.min_interval_s > 0:
        spend(throttle.key("sms-gap", phone_hash), 1, timedelta(seconds=policy.min_interval_s),
              "too_soon", "请 {s} 秒后再获取验证码")  # fmt: skip
    spend(throttle.key("sms-hour", phone_hash), policy.max_per_hour, timedelta(hours=1),
          "too_many_codes", "获取验证码过于频繁，请 {m} 分钟后再试")  # fmt: skip
    session.commit()  # the attempts are spent before the SMS goes out, whatever happens next
    now = utcnow()
    code = f"{secrets.randbelow(10**6):06d}"
    session.add(
        SmsCode(
            phone_hash=phone_hash,
            code_hash=_hash(f"{phone_hash}:{code}"),
            created_at=now,
            expires_at=now + timedelta(seconds=policy.code_ttl_s),
        )
    )
    session.flush()
    try:
        sms.send_code(phone, code, policy.code_ttl_s)
    except SmsUnavailable:  # nothing was sent: the code is not kept, the limits not spent
        session.rollback()
        for counter in taken:
            throttle.give_back(session, counter)
        session.commit()
        raise
    return policy.code_ttl_s


def login_with_code(
    session: Session,
    keys: DataKeys,
    policy: SmsPolicy,
    phone: str,
    code: str,
    ttl: timedelta,
    *,
    source: str = "?",
) -> tuple[IssuedToken, CitizenAccount]:
    """Check the newest live code. At most ``max_failures`` codes are checked per number
    before a lockout, and ``source_failures`` per client address, however many requests
    arrive at once: each check spends an attempt first (committed), a right code gives it back."""
    phone = validate_phone(phone)
    phone_hash = keys.lookup_hash("phone", phone)
    source_key = throttle.key("app-login-source", source)
    got = throttle.take(
        session, source_key, limit=policy.source_failures, window=policy.source_window
    )
    if not got:
        session.commit()
        raise CitizenRefused(
            "source_throttled",
            f"此网络验证码错误次数过多，请 {_minutes(got.retry_after_s)} 分钟后再试",
            got.retry_after_s,
        )
    login_key = throttle.key("sms-login", phone_hash)
    got = throttle.take(
        session, login_key, limit=policy.max_failures, window=policy.lockout, lockout=policy.lockout
    )
    if not got:
        throttle.give_back(session, source_key)
        session.commit()
        raise _locked(got.retry_after_s)
    session.commit()  # the attempt counts even if this request fails or dies
    now = utcnow()
    latest = session.scalar(
        select(SmsCode)
        .where(SmsCode.phone_hash == phone_hash, SmsCode.used_at.is_(None))
        .order_by(SmsCode.created_at.desc(), SmsCode.id.desc())
        .limit(1)
    )
    good = (
        latest is not None
        and latest.expires_at > now
        and hmac.compare_digest(latest.code_hash, _hash(f"{phone_hash}:{code.strip()}"))
    )
    spent = False
    if good:  # a code is used once, even by two requests at the same moment
        assert latest is not None
        used = session.execute(
            update(SmsCode)
            .where(SmsCode.id == latest.id, SmsCode.used_at.is_(None))
            .values(used_at=now)
        )
        spent = used.rowcount != 1
    if not good or spent:
        if latest is None or latest.expires_at <= now or spent:
            raise CitizenRefused("code_expired", "验证码已失效，请重新获取")
        raise CitizenRefused("wrong_code", "验证码不正确")
    throttle.clear(session, login_key)
    throttle.give_back(session, source_key)
    account = session.scalar(select(CitizenAccount).where(CitizenAccount.phone_hash == phone_hash))
    if account is None:
        account = CitizenAccount(
            id=str(uuid.uuid4()),
            phone_hash=phone_hash,
            phone_enc=keys.encrypt(phone),
            phone_masked=mask_phone(phone),
            created_at=now,
            bind_failures=0,
        )
        session.add(account)
        session.flush()
    # the account's live binding, if any, is what its token may reach (bindings.py)
    binding = session.scalar(
        select(PhoneBinding).where(
            PhoneBinding.account_id == account.id, PhoneBinding.revoked_at.is_(None)
        )
    )
    if binding is not None:
        binding.last_used_at = now
    account.citizen_id = binding.citizen_id if binding is not None else None
    issued = _issue(
        session,
        channel="app",
        ttl=ttl,
        citizen_id=binding.citizen_id if binding is not None else None,
        account_id=account.id,
        binding_id=binding.id if binding is not None else None,
    )
    return issued, account
