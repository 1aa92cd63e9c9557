"""E-licences (电子证照): a citizen's own licences, their documents and public verification.

A shown or printed licence carries a verification code: the licence number
and an HMAC of it under the backend's signing key (backend/gov/keys.py). The
code cannot be forged for another licence number, and ``/verify/{code}``
answers with the licence's current status (valid, expired, revoked) and a
masked holder, so anyone holding the paper can check it.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

import segno
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.gov.keys import DataKeys
from backend.models import Citizen, Licence
from backend.models.base import utcnow
from backend.services import citizen_audit

PURPOSE = "licence-verification"


def mask_name(name: str) -> str:
    """``张三`` -> ``张*``; ``欧阳修文`` -> ``欧阳**`` (compound surnames keep two characters)."""
    if len(name) <= 1:
        return name
    keep = 2 if len(name) >= 4 else 1
    return name[:keep] + "*" * (len(name) - keep)


def list_for(session: Session, citizen_id: str) -> list[Licence]:
    return list(
        session.scalars(
            select(Licence)
            .where(Licence.citizen_id == citizen_id)
            .order_by(Licence.issued_at.desc(), Licence.licence_no)
        )
    )


def get_owned(session: Session, citizen_id: str, licence_no: str) -> Licence | None:
    """The licence if it belongs to ``citizen_id``; someone else's is as absent as a missing one."""
    licence = session.get(Licence, licence_no)
    return licence if licence is not None and licence.citizen_id == citizen_id else None


def status(licence: Licence, now: datetime | None = None) -> str:
    now = now or utcnow()
    if licence.status != "valid":
        return licence.status
    if licence.valid_until is not None and licence.valid_until <= now:
        return "expired"
    return "valid"


def usable(licence: Licence) -> bool:
    return status(licence) == "valid"


def verification_code(keys: DataKeys, licence_no: str) -> str:
    payload = base64.urlsafe_b64encode(licence_no.encode()).decode().rstrip("=")
    return f"{payload}.{keys.sign(PURPOSE, licence_no)}"


def licence_no_from_code(keys: DataKeys, code: str) -> str | None:
    """The licence number a genuine code names, or None for anything forged or garbled."""
    payload, _, signature = code.partition(".")
    if not payload or not signature or len(code) > 200:
        return None
    try:
        licence_no = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return licence_no if keys.verify(PURPOSE, licence_no, signature) else None


STATUS_NAMES = {"valid": "有效", "expired": "已过期", "revoked": "已注销"}


def document(keys: DataKeys, licence: Licence, holder: Citizen, base_url: str) -> dict[str, Any]:
    """What a printer or a screen needs to show the licence: title, fields, code, QR (and its URL)."""
    code = verification_code(keys, licence.licence_no)
    url = f"{base_url.rstrip('/')}/verify/{code}"
    fields = [
        {"label": "持证人", "value": holder.name},
        {"label": "公民身份号码", "value": holder.id_number_masked},
        *({"label": k, "value": str(v)} for k, v in licence.fields.items()),
        {"label": "证照编号", "value": licence.licence_no},
        {"label": "发证机关", "value": licence.issuer},
        {"label": "发证日期", "value": f"{licence.issued_at:%Y-%m-%d}"},
        {
            "label": "有效期至",
            "value": f"{licence.valid_until:%Y-%m-%d}" if licence.valid_until else "长期",
        },
    ]
    return {
        "licence_no": licence.licence_no,
        "type_code": licence.type_code,
        "title": licence.title,
        "issuer": licence.issuer,
        "status": status(licence),
        "fields": fields,
        "verification_code": code,
        "verify_url": url,
        "qr_svg": segno.make(url, error="m").svg_inline(scale=4),
    }


def verify(session: Session, keys: DataKeys, code: str) -> dict[str, Any] | None:
    """The licence a genuine code names, for anyone to check; the read is logged (caller commits)."""
    licence_no = licence_no_from_code(keys, code)
    if licence_no is None:
        return None
    licence = session.get(Licence, licence_no)
    if licence is None:
        return None
    holder = session.get(Citizen, licence.citizen_id)
    state = status(licence)
    citizen_audit.record(
        session,
        actor="public:verify",
        citizen_id=licence.citizen_id,
        action="licence.verify",
        detail=licence.licence_no,
    )
    return {
        "licence_no": licence.licence_no,
        "title": licence.title,
        "issuer": licence.issuer,
        "holder": mask_name(holder.name) if holder else "",
        "issued_at": licence.issued_at,
        "valid_until": licence.valid_until,
        "status": state,
        "status_name": STATUS_NAMES.get(state, state),
        "genuine": True,
    }


def issue(
    session: Session,
    *,
    licence_no: str,
    citizen_id: str,
    type_code: str,
    title: str,
    issuer: str,
    fields: dict[str, Any],
    valid_until: datetime | None = None,
    issued_at: datetime | None = None,
    status: str = "valid",
    source_application_id: str | None = None,
) -> Licence:
    licence = session.get(Licence, licence_no) or Licence(licence_no=licence_no)
    licence.citizen_id = citizen_id
    licence.type_code = type_code
    licence.title = title
    licence.issuer = issuer
    licence.fields = fields
    licence.issued_at = issued_at or utcnow()
    licence.valid_until = valid_until
    licence.status = status
    licence.source_application_id = source_application_id
    session.add(licence)
    session.flush()
    return licence
