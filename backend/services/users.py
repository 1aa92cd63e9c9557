"""Ops centre users: SQL for creating, finding and checking them. Passwords: argon2 (pwdlib)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from pwdlib import PasswordHash
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.models import User
from backend.models.base import utcnow

ROLES = ("admin", "operator", "technician")
ROLE_NAMES = {"admin": "管理员", "operator": "值班员", "technician": "维护技术员"}
USERNAME = re.compile(r"[a-z][a-z0-9_.-]{2,63}")
REGION = re.compile(r"\d{2}(\d{2}){0,2}(\d{3}){0,2}")  # province .. village prefix
MIN_PASSWORD = 10

_hasher = PasswordHash.recommended()
# A hash to verify against when the user is unknown, so that a wrong name and a
# wrong password take the same time (no user enumeration by timing).
_DUMMY_HASH = _hasher.hash("not-a-real-password-at-all")


class UserError(ValueError):
    """A user cannot be created or changed as asked; the message says why."""


def _check_regions(role: str, regions: Sequence[str]) -> list[str]:
    cleaned = sorted({r.strip() for r in regions if r.strip()})
    for r in cleaned:
        if not REGION.fullmatch(r):
            raise UserError(
                f"region {r!r} is not a GB/T 2260 code prefix (2, 4, 6, 9 or 12 digits)"
            )
    if role == "technician" and not cleaned:
        raise UserError("a technician needs at least one region (--region)")
    if role != "technician" and cleaned:
        raise UserError("only technicians are limited to regions")
    return cleaned


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    display_name: str | None = None,
    regions: Sequence[str] = (),
) -> User:
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if not USERNAME.fullmatch(username):
        raise UserError("user name: 3-64 characters, lower-case letters, digits, _ . -")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password needs at least {MIN_PASSWORD} characters")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise UserError(f"user {username!r} already exists")
    user = User(
        username=username,
        display_name=(display_name or username)[:100],
        password_hash=_hasher.hash(password),
        role=role,
        regions=_check_regions(role, regions),
        active=True,
        created_at=utcnow(),
    )
    session.add(user)
    session.flush()
    return user


def check_password(session: Session, username: str, password: str) -> User | None:
    """The active user with this name and password, or None; constant work either way."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        _hasher.verify(password, _DUMMY_HASH)
        return None
    valid, new_hash = _hasher.verify_and_update(password, user.password_hash)
    if not valid:
        return None
    if new_hash is not None:  # parameters were raised since: re-hash
        user.password_hash = new_hash
    return user


def set_password(session: Session, user_id: int, password: str) -> User:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password needs at least {MIN_PASSWORD} characters")
    user = session.get(User, user_id)
    if user is None:
        raise LookupError(f"no user {user_id}")
    user.password_hash = _hasher.hash(password)
    return user


def set_active(session: Session, user_id: int, active: bool) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise LookupError(f"no user {user_id}")
    user.active = active
    return user


def list_users(session: Session) -> Sequence[User]:
    return session.scalars(select(User).order_by(User.username)).all()


def count_admins(session: Session) -> int:
    return len(session.scalars(select(User.id).where(User.role == "admin", User.active)).all())
