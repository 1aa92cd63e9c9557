"""Enrolment: one-time codes, the kiosk's certificate from the fleet CA, retirement.

A code is 16 characters from an alphabet without look-alikes (about 80
bits), shown to the technician once and stored only as a SHA-256 hash: a
forged or mistyped code matches nothing. It works once (claimed with a
conditional UPDATE, so two kiosks racing with one code cannot both win),
until it expires. The kiosk id comes from the code's region, never from the
kiosk; the CA writes it into the certificate's CN, which is what the broker's
ACL goes by. Retiring a kiosk revokes its certificates and rewrites the CRL.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.models import CitizenToken, Enrolment, EnrolmentCode
from backend.models.base import utcnow
from provisioning.ca import CAError, FleetCA

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
CODE_LENGTH = 16
REGION_CODE = re.compile(r"\d{6}(\d{3}){0,2}")  # county, township or village (GB/T 2260 and on)


class EnrolmentRefused(Exception):
    """Why an enrolment was refused; ``code`` is stable, the message is for the technician."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class NewCode:
    code: str  # shown once
    site: str
    region_code: str
    expires_at: datetime


@dataclass(frozen=True)
class Enrolled:
    kiosk_id: str
    certificate_pem: str
    ca_certificate_pem: str
    broker_url: str


def normalise(code: str) -> str:
    """What the technician typed, as stored: upper case, no spaces or dashes."""
    return re.sub(r"[\s-]", "", code).upper()


def _hash(code: str) -> str:
    return hashlib.sha256(normalise(code).encode()).hexdigest()


def create_code(
    session: Session, *, site: str, region_code: str, ttl: timedelta, created_by: str
) -> NewCode:
    if not REGION_CODE.fullmatch(region_code):
        raise ValueError("region_code must be 6, 9 or 12 digits (GB/T 2260 and its extensions)")
    if not site.strip():
        raise ValueError("site must name where the kiosk stands")
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    code = "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))
    now = utcnow()
    session.add(
        EnrolmentCode(
            code_hash=_hash(code),
            site=site.strip(),
            region_code=region_code,
            created_by=created_by,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    return NewCode(code=code, site=site.strip(), region_code=region_code, expires_at=now + ttl)


def outstanding_codes(session: Session, *, limit: int = 200) -> list[EnrolmentCode]:
    """Codes not used and not expired, newest first (their hashes only: the code is gone)."""
    return list(
        session.scalars(
            select(EnrolmentCode)
            .where(EnrolmentCode.used_at.is_(None), EnrolmentCode.expires_at > utcnow())
            .order_by(EnrolmentCode.created_at.desc())
            .limit(limit)
        )
    )


def _next_kiosk_id(session: Session, region_code: str) -> str:
    count = session.scalar(
        select(func.count()).select_from(Enrolment).where(Enrolment.region_code == region_code)
    )
    return f"k{region_code}-{(count or 0) + 1:04d}"


def enrol(session: Session, ca: FleetCA, *, code: str, csr_pem: str, broker_url: str) -> Enrolled:
    """Claim the code, sign the kiosk's CSR, record the kiosk. The caller commits."""
    now = utcnow()
    row = session.get(EnrolmentCode, _hash(code))
    if row is None:
        raise EnrolmentRefused(
            "unknown_code", "this enrolment code is not valid (mistyped or forged)"
        )
    if row.used_at is not None:
        raise EnrolmentRefused("used_code", f"this code was already used, by kiosk {row.kiosk_id}")
    if row.expires_at <= now:
        raise EnrolmentRefused(
            "expired_code", f"this code expired at {row.expires_at:%Y-%m-%d %H:%M} UTC"
        )
    kiosk_id = _next_kiosk_id(session, row.region_code)
    claimed = session.execute(
        update(EnrolmentCode)
        .where(EnrolmentCode.code_hash == row.code_hash, EnrolmentCode.used_at.is_(None))
        .values(used_at=now, kiosk_id=kiosk_id)
    )
    if claimed.rowcount != 1:
        raise EnrolmentRefused("used_code", "this code was just used by another kiosk")
    try:
        signed = ca.sign_csr(csr_pem, kiosk_id)
    except CAError as err:
        raise EnrolmentRefused("bad_request", f"certificate request refused: {err}") from err
    session.add(
        Enrolment(
            kiosk_id=kiosk_id,
            site=row.site,
            region_code=row.region_code,
            certificate_serial=f"{signed.serial:x}",
            certificate_pem=signed.cert_pem.decode(),
            enrolled_at=now,
        )
    )
    try:
        session.flush()
    except IntegrityError:
        ca.revoke(signed.serial, reason="superseded")  # never leave a certificate unaccounted for
        raise
    return Enrolled(
        kiosk_id=kiosk_id,
        certificate_pem=signed.cert_pem.decode(),
        ca_certificate_pem=ca.cert_pem.decode(),
        broker_url=broker_url,
    )


def retire(
    session: Session, ca: FleetCA, kiosk_id: str, *, broker_crl_file: Path | None = None
) -> list[str]:
    """Revoke the kiosk's certificates and rewrite the CRL (also the broker's copy, when the
    broker's ``crlfile`` is known); end the citizen sessions it holds. Returns the serials.

    From then on ingest refuses the kiosk's messages (``retired``) and no session it was
    given vouches for anyone (backend/services/proofs.py); the broker refuses its new
    connections once it re-reads the CRL (``systemctl reload mosquitto``).
    """
    enrolment = session.get(Enrolment, kiosk_id)
    if enrolment is None:
        raise LookupError(f"no enrolled kiosk {kiosk_id!r}")
    revoked = [f"{r.serial_hex}" for r in ca.revoke_kiosk(kiosk_id)]
    ca.write_crl()
    if broker_crl_file is not None:
        ca.write_crl(broker_crl_file)
    now = utcnow()
    if enrolment.retired_at is None:
        enrolment.retired_at = now
    session.execute(
        update(CitizenToken)
        .where(CitizenToken.kiosk_id == kiosk_id, CitizenToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return revoked
