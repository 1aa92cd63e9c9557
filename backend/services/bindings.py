"""Phone bindings (实名绑定): a phone reaches a citizen's data only with proof of control.

Knowing a name and an identity number proves nothing: both are written on
forms, photocopies and leaked lists. A mini-app account (a phone number,
logged in by an SMS code to that number) binds to a registry entry only with
one of these proofs:

- ``login_phone``: the account's own number is the number registered to that
  identity; the log-in code sent to it already proved control, so no second
  code is asked for.
- ``sms``: a one-time code sent to the registered number (the SMS names the
  phone asking to bind, so the owner knows what the code would do).
- ``face``: the face-check provider matched a live face with the registry entry.

Codes: 6 digits, ``code_ttl_s`` to live, ``max_attempts`` tries, each try
counted by one conditional UPDATE before the code is compared, and committed
even when the request fails; an exhausted proof locks the account's binding
for ``lockout``; a new code supersedes the last. Codes are stored as an HMAC
under the data keys' look-up key (a copy of the database alone cannot test
the million candidates) and bound to the challenge, the citizen and the account,
so a code for one citizen or one phone is worth nothing for another.

A citizen has at most ``max_phones`` live bindings (distinct slots under a
partial unique index, so concurrent binds cannot exceed it). Every new binding
is told to the registered number by SMS and to the citizen's inbox. The citizen
lists and revokes bindings; revoking kills that binding's tokens at once, and
every mini-app token is checked against its live binding on each request.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.gov.keys import DataKeys
from backend.gov.providers import (
    FaceCheckProvider,
    FaceSubject,
    NotificationProvider,
    SmsProvider,
    SmsUnavailable,
)
from backend.models import (
    BindingChallenge,
    Citizen,
    CitizenAccount,
    CitizenToken,
    PhoneBinding,
)
from backend.models.base import utcnow
from backend.services import notifications, throttle
from backend.services.citizens import (
    CitizenRefused,
    find_by_id_number,
    names_match,
    normalise_id_number,
)

logger = logging.getLogger(__name__)

BEIJING = timezone(timedelta(hours=8))
PROOF_NAMES = {
    "login_phone": "登记手机号登录",
    "sms": "登记手机号验证码",
    "face": "人脸核验",
}
TOUCH_EVERY = timedelta(minutes=1)  # "last used" is written at most this often per binding


@dataclass(frozen=True)
class BindingPolicy:
    max_phones: int = 3
    code_ttl_s: int = 300
    min_interval_s: int = 60
    max_codes_per_hour: int = 5
    max_attempts: int = 5
    lockout: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class Offer:
    """The answer to a name and identity number: bound already, or which proofs can follow."""

    citizen: Citizen
    binding: PhoneBinding | None
    sms_to: str | None  # the registered number, masked, when a code can be sent to it
    face: bool


# --- matching the registry -----------------------------------------------------------------


def _refuse_if_locked(account: CitizenAccount, now: datetime) -> None:
    if account.bind_locked_until is not None and account.bind_locked_until > now:
        wait = int((account.bind_locked_until - now).total_seconds()) + 1
        raise CitizenRefused(
            "bind_locked", f"实名认证失败次数过多，请 {wait // 60 + 1} 分钟后再试", wait
        )


def _lock(session: Session, account: CitizenAccount, policy: BindingPolicy, now: datetime) -> None:
    session.execute(
        update(CitizenAccount)
        .where(CitizenAccount.id == account.id)
        .values(bind_locked_until=now + policy.lockout, bind_failures=0)
    )


def match_registry(
    session: Session,
    keys: DataKeys,
    policy: BindingPolicy,
    account: CitizenAccount,
    *,
    name: str,
    id_number: str,
) -> Citizen:
    """The registry entry with this name and number; a mismatch counts towards a lockout."""
    now = utcnow()
    _refuse_if_locked(account, now)
    id_number = normalise_id_number(id_number)
    # One attempt is spent (one conditional UPDATE, committed) before the registry is asked,
    # so parallel guesses cannot all read "not yet locked" (backend/services/throttle.py).
    counter = throttle.key("real-name", account.id)
    taken = throttle.take(session, counter, limit=policy.max_attempts, window=policy.lockout)
    session.commit()
    if not taken.allowed:
        wait = taken.retry_after_s
        raise CitizenRefused(
            "bind_locked", f"实名认证失败次数过多，请 {wait // 60 + 1} 分钟后再试", wait
        )
    citizen = find_by_id_number(session, keys, id_number)
    if citizen is None or not names_match(citizen.name, name):
        raise CitizenRefused("real_name_mismatch", "姓名与身份证号码不匹配，或不在人口库中")
    throttle.give_back(session, counter)  # only failures stay counted
    return citizen


def live_binding(session: Session, account_id: str) -> PhoneBinding | None:
    return session.scalar(
        select(PhoneBinding).where(
            PhoneBinding.account_id == account_id, PhoneBinding.revoked_at.is_(None)
        )
    )


def _live_count(session: Session, citizen_id: str) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(PhoneBinding)
            .where(PhoneBinding.citizen_id == citizen_id, PhoneBinding.revoked_at.is_(None))
        )
        or 0
    )


def _full(policy: BindingPolicy) -> CitizenRefused:
    return CitizenRefused(
        "phones_full",
        f"您的实名身份已绑定 {policy.max_phones} 部手机，已达上限。"
        "请先在已绑定的手机上进入「我的 → 已绑定手机」解除一部，再来绑定。",
    )


def _own_binding_or_none(
    session: Session, account: CitizenAccount, token: CitizenToken, citizen: Citizen
) -> PhoneBinding | None:
    """This account's live binding to ``citizen`` (attached to the token), or None if unbound."""
    binding = live_binding(session, account.id)
    if binding is None:
        return None
    if binding.citizen_id != citizen.id:
        raise CitizenRefused("already_bound", "此手机号已绑定其他实名身份，请先在该身份下解除绑定")
    token.citizen_id, token.binding_id = citizen.id, binding.id
    return binding


def offer(
    session: Session,
    keys: DataKeys,
    sms: SmsProvider,
    notifier: NotificationProvider | None,
    policy: BindingPolicy,
    account: CitizenAccount,
    token: CitizenToken,
    *,
    name: str,
    id_number: str,
    face_available: bool,
) -> Offer:
    """Step one: match the registry; bind at once when the log-in proved the registered number."""
    citizen = match_registry(session, keys, policy, account, name=name, id_number=id_number)
    binding = _own_binding_or_none(session, account, token, citizen)
    if binding is not None:
        return Offer(citizen, binding, None, False)
    if citizen.phone_hash is not None and hmac.compare_digest(
        citizen.phone_hash, account.phone_hash
    ):
        binding = _bind(
            session, keys, sms, notifier, policy, account, token, citizen, "login_phone"
        )
        return Offer(citizen, binding, None, False)
    if _live_count(session, citizen.id) >= policy.max_phones:
        raise _full(policy)
    return Offer(citizen, None, citizen.phone_masked, face_available)


# --- proofs ----------------------------------------------------------------------------------


def _secret_hash(
    keys: DataKeys, challenge_id: str, citizen_id: str, account_id: str, value: str
) -> str:
    return keys.lookup_hash("binding-proof", f"{challenge_id}:{citizen_id}:{account_id}:{value}")


def _rate_limit(session: Session, policy: BindingPolicy, citizen_id: str, method: str) -> None:
    now = utcnow()
    recent = select(BindingChallenge.created_at).where(
        BindingChallenge.citizen_id == citizen_id,
        BindingChallenge.method == method,
        BindingChallenge.created_at > now - timedelta(hours=1),
    )
    times = list(session.scalars(recent))
    if times and (now - max(times)).total_seconds() < policy.min_interval_s:
        wait = policy.min_interval_s - int((now - max(times)).total_seconds())
        raise CitizenRefused("too_soon", f"请 {wait} 秒后再获取验证码", wait)
    if len(times) >= policy.max_codes_per_hour:
        raise CitizenRefused("too_many_codes", "获取验证码过于频繁，请一小时后再试", 3600)


def _new_challenge(
    session: Session,
    keys: DataKeys,
    policy: BindingPolicy,
    account: CitizenAccount,
    citizen: Citizen,
    method: str,
    secret: str,
    ttl_s: int,
    challenge_id: str,
) -> BindingChallenge:
    now = utcnow()
    # a new proof supersedes the account's earlier ones: only the newest code can work
    session.execute(
        update(BindingChallenge)
        .where(BindingChallenge.account_id == account.id, BindingChallenge.used_at.is_(None))
        .values(used_at=now)
    )
    challenge = BindingChallenge(
        id=challenge_id,
        account_id=account.id,
        citizen_id=citizen.id,
        method=method,
        secret_hash=_secret_hash(keys, challenge_id, citizen.id, account.id, secret),
        created_at=now,
        expires_at=now + timedelta(seconds=ttl_s),
        attempts=0,
        max_attempts=policy.max_attempts,
    )
    session.add(challenge)
    session.flush()
    return challenge


def _to_prove(
    session: Session,
    keys: DataKeys,
    policy: BindingPolicy,
    account: CitizenAccount,
    token: CitizenToken,
    *,
    name: str,
    id_number: str,
) -> Citizen:
    """The registry entry a proof of control is about to be asked for: matched, not already
    bound to this phone, with a free place among its bound phones."""
    citizen = match_registry(session, keys, policy, account, name=name, id_number=id_number)
    if _own_binding_or_none(session, account, token, citizen) is not None:
        raise CitizenRefused("already_bound_here", "此手机已绑定该实名身份，无需再次验证")
    if _live_count(session, citizen.id) >= policy.max_phones:
        raise _full(policy)
    return citizen


def send_code(
    session: Session,
    keys: DataKeys,
    sms: SmsProvider,
    policy: BindingPolicy,
    account: CitizenAccount,
    token: CitizenToken,
    *,
    name: str,
    id_number: str,
) -> tuple[BindingChallenge, str]:
    """Send a binding code to the number registered to this identity; (challenge, masked number)."""
    citizen = _to_prove(session, keys, policy, account, token, name=name, id_number=id_number)
    if citizen.phone_enc is None or citizen.phone_masked is None:
        raise CitizenRefused(
            "no_registered_phone",
            "人口库中没有您登记的手机号，请使用人脸核验，或携带身份证到自助终端、政务服务窗口办理",
        )
    _rate_limit(session, policy, citizen.id, "sms")
    code = f"{secrets.randbelow(10**6):06d}"
    challenge = _new_challenge(
        session, keys, policy, account, citizen, "sms", code, policy.code_ttl_s, str(uuid.uuid4())
    )
    text = (
        f"【政务服务】验证码{code}，用于将手机 {account.phone_masked} 绑定到您的实名身份，"
        f"{policy.code_ttl_s // 60}分钟内有效。如非本人操作，请勿将验证码告诉任何人。"
    )
    sms.send_text(keys.decrypt(citizen.phone_enc), text)  # SmsUnavailable: nothing kept
    return challenge, citizen.phone_masked


def start_face_check(
    session: Session,
    keys: DataKeys,
    face: FaceCheckProvider,
    policy: BindingPolicy,
    account: CitizenAccount,
    token: CitizenToken,
    *,
    name: str,
    id_number: str,
) -> tuple[BindingChallenge, str]:
    """Open a face-check session against this registry entry; (challenge, the vendor's token)."""
    citizen = _to_prove(session, keys, policy, account, token, name=name, id_number=id_number)
    _rate_limit(session, policy, citizen.id, "face")
    opened = face.begin(FaceSubject(citizen.id, citizen.name), policy.code_ttl_s)
    challenge = _new_challenge(
        session,
        keys,
        policy,
        account,
        citizen,
        "face",
        opened.token,
        policy.code_ttl_s,
        str(uuid.uuid4()),
    )
    return challenge, opened.token


def confirm(
    session: Session,
    keys: DataKeys,
    sms: SmsProvider,
    notifier: NotificationProvider | None,
    face: FaceCheckProvider | None,
    policy: BindingPolicy,
    account: CitizenAccount,
    token: CitizenToken,
    *,
    challenge_id: str,
    code: str | None = None,
    face_session: str | None = None,
    face_result: str | None = None,
) -> tuple[PhoneBinding, Citizen]:
    """Check the proof of ``challenge_id`` (one try spent first) and bind on success."""
    now = utcnow()
    _refuse_if_locked(account, now)
    challenge = session.get(BindingChallenge, challenge_id)
    if challenge is None or challenge.account_id != account.id:
        raise CitizenRefused("no_challenge", "验证已失效，请重新获取验证码")
    # One conditional UPDATE spends a try: parallel guesses cannot exceed max_attempts.
    spent = session.execute(
        update(BindingChallenge)
        .where(
            BindingChallenge.id == challenge.id,
            BindingChallenge.used_at.is_(None),
            BindingChallenge.expires_at > now,
            BindingChallenge.attempts < BindingChallenge.max_attempts,
        )
        .values(attempts=BindingChallenge.attempts + 1)
        .returning(BindingChallenge.attempts)
    ).scalar_one_or_none()
    session.commit()  # the try counts, whatever happens next
    if spent is None:
        session.refresh(challenge)
        if challenge.attempts >= challenge.max_attempts:
            raise CitizenRefused("bind_locked", "验证码错误次数过多，请稍后重新获取")
        raise CitizenRefused("bind_code_expired", "验证码已失效，请重新获取")
    citizen = session.get(Citizen, challenge.citizen_id)
    assert citizen is not None
    offered = ((code if challenge.method == "sms" else face_session) or "").strip()
    good = hmac.compare_digest(
        challenge.secret_hash,
        _secret_hash(keys, challenge.id, citizen.id, account.id, offered),
    )
    if good and challenge.method == "face":
        outcome = (
            face.outcome(offered, face_result or "", FaceSubject(citizen.id, citizen.name))
            if face
            else None
        )
        good = outcome is not None and outcome.matched
    if not good:
        left = challenge.max_attempts - spent
        if left <= 0:
            _lock(session, account, policy, now)
            session.commit()
            raise CitizenRefused(
                "bind_locked",
                f"验证错误次数过多，请 {int(policy.lockout.total_seconds()) // 60} 分钟后再试",
                int(policy.lockout.total_seconds()),
            )
        if challenge.method == "face":
            raise CitizenRefused("face_not_matched", f"人脸核验未通过，还可尝试 {left} 次")
        raise CitizenRefused("bind_code_wrong", f"验证码不正确，还可尝试 {left} 次")
    used = session.execute(
        update(BindingChallenge)
        .where(BindingChallenge.id == challenge.id, BindingChallenge.used_at.is_(None))
        .values(used_at=now)
    )
    if used.rowcount != 1:  # another request with the same code won the race
        raise CitizenRefused("bind_code_expired", "验证码已失效，请重新获取")
    binding = _own_binding_or_none(session, account, token, citizen)
    if binding is None:
        binding = _bind(
            session, keys, sms, notifier, policy, account, token, citizen, challenge.method
        )
    account.bind_failures = 0
    return binding, citizen


# --- binding, listing, revoking -----------------------------------------------------------


def _bind(
    session: Session,
    keys: DataKeys,
    sms: SmsProvider,
    notifier: NotificationProvider | None,
    policy: BindingPolicy,
    account: CitizenAccount,
    token: CitizenToken,
    citizen: Citizen,
    proof: str,
) -> PhoneBinding:
    now = utcnow()
    for _ in range(policy.max_phones):
        taken = set(
            session.scalars(
                select(PhoneBinding.slot).where(
                    PhoneBinding.citizen_id == citizen.id, PhoneBinding.revoked_at.is_(None)
                )
            )
        )
        if len(taken) >= policy.max_phones:
            raise _full(policy)
        slot = min(set(range(1, policy.max_phones + 1)) - taken)
        binding = PhoneBinding(
            id=str(uuid.uuid4()),
            citizen_id=citizen.id,
            account_id=account.id,
            slot=slot,
            proof=proof,
            created_at=now,
            last_used_at=now,
        )
        try:
            with session.begin_nested():
                session.add(binding)
        except IntegrityError:
            # the slot went to a phone binding at the same moment (or this account bound)
            if live_binding(session, account.id) is not None:
                raise CitizenRefused("already_bound", "此手机号已绑定实名身份") from None
            continue
        break
    else:
        raise _full(policy)
    account.citizen_id, account.bound_at = citizen.id, now
    token.citizen_id, token.binding_id = citizen.id, binding.id
    session.flush()
    _tell(session, keys, sms, notifier, citizen, account, proof, now)
    return binding


def _tell(
    session: Session,
    keys: DataKeys,
    sms: SmsProvider,
    notifier: NotificationProvider | None,
    citizen: Citizen,
    account: CitizenAccount,
    proof: str,
    now: datetime,
) -> None:
    """The registered number and the inbox hear of every new binding."""
    when = now.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
    body = (
        f"手机 {account.phone_masked} 于 {when} 通过{PROOF_NAMES.get(proof, proof)}"
        "绑定了您的实名身份，可查看您的办件和证照。如非本人操作，请立即在"
        "「我的 → 已绑定手机」中解除绑定，或到政务服务窗口求助。"
    )
    notifications.notify(
        session, notifier, citizen_id=citizen.id, kind="binding", title="新手机绑定提醒", body=body
    )
    if citizen.phone_enc is None:
        return
    try:
        sms.send_text(keys.decrypt(citizen.phone_enc), f"【政务服务】{body}")
    except SmsUnavailable as err:  # the binding stands; the inbox still has the notice
        logger.warning("binding notice SMS to %s not sent: %s", citizen.phone_masked, err)


@dataclass(frozen=True)
class BoundPhone:
    binding: PhoneBinding
    phone_masked: str


def list_bindings(session: Session, citizen_id: str) -> list[BoundPhone]:
    rows = session.execute(
        select(PhoneBinding, CitizenAccount.phone_masked)
        .join(CitizenAccount, CitizenAccount.id == PhoneBinding.account_id)
        .where(PhoneBinding.citizen_id == citizen_id, PhoneBinding.revoked_at.is_(None))
        .order_by(PhoneBinding.created_at)
    ).all()
    return [BoundPhone(binding, masked) for binding, masked in rows]


def revoke(session: Session, *, citizen_id: str, binding_id: str, actor: str) -> BoundPhone:
    """End a binding of ``citizen_id``: its tokens die now, its account is unbound."""
    now = utcnow()
    done = session.execute(
        update(PhoneBinding)
        .where(
            PhoneBinding.id == binding_id,
            PhoneBinding.citizen_id == citizen_id,
            PhoneBinding.revoked_at.is_(None),
        )
        .values(revoked_at=now, revoked_by=actor[:120])
    )
    binding = session.get(PhoneBinding, binding_id)
    if done.rowcount != 1 or binding is None:
        raise CitizenRefused("no_binding", "没有找到这部已绑定的手机")
    session.refresh(binding)
    session.execute(
        update(CitizenToken)
        .where(CitizenToken.binding_id == binding_id, CitizenToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.execute(
        update(CitizenAccount)
        .where(CitizenAccount.id == binding.account_id, CitizenAccount.citizen_id == citizen_id)
        .values(citizen_id=None, bound_at=None)
    )
    account = session.get(CitizenAccount, binding.account_id)
    return BoundPhone(binding, account.phone_masked if account is not None else "*")


def token_may_read(session: Session, token: CitizenToken) -> bool:
    """A mini-app token reads a citizen only through its live binding (touched as last used)."""
    if token.account_id is None:
        return True  # a kiosk session: vouched for by the kiosk's card and face check
    if token.binding_id is None or token.citizen_id is None:
        return False
    binding = session.get(PhoneBinding, token.binding_id)
    if (
        binding is None
        or binding.revoked_at is not None
        or binding.citizen_id != token.citizen_id
        or binding.account_id != token.account_id
    ):
        return False
    now = utcnow()
    session.execute(
        update(PhoneBinding)
        .where(
            PhoneBinding.id == binding.id,
            or_(
                PhoneBinding.last_used_at.is_(None),
                and_(PhoneBinding.last_used_at < now - TOUCH_EVERY),
            ),
        )
        .values(last_used_at=now)
    )
    return True
