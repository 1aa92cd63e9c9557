"""Which kiosk sent a signed request: the certificate's checks plus what only the backend knows.

provisioning.request_signing checks the certificate and the signature; here
the kiosk must also be enrolled with exactly this certificate and not retired
(a revoked certificate stops working at once, not at its expiry), and the
nonce must be new. Nonces are kept for twice the allowed clock skew: an older
request is refused by the clock check anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from cryptography import x509
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.models import Enrolment, KioskRequestNonce
from backend.models.base import utcnow
from provisioning.request_signing import MAX_SKEW_S, SignatureRefused, verify

NONCE_RETENTION = timedelta(seconds=2 * MAX_SKEW_S)


def authenticate(
    session: Session,
    ca_certificate: x509.Certificate,
    headers: Mapping[str, str],
    *,
    method: str,
    target: str,
    body: bytes,
) -> str:
    """The kiosk id of a correctly signed request, or :class:`SignatureRefused`. Commits."""
    verified = verify(
        headers, method=method, target=target, body=body, ca_certificate=ca_certificate
    )
    enrolment = session.get(Enrolment, verified.kiosk_id)
    if enrolment is None:
        raise SignatureRefused("not_enrolled", f"kiosk {verified.kiosk_id} is not enrolled")
    if enrolment.retired_at is not None:
        raise SignatureRefused("retired", f"kiosk {verified.kiosk_id} was retired")
    if enrolment.certificate_serial != verified.serial_hex:
        raise SignatureRefused(
            "superseded_certificate",
            f"kiosk {verified.kiosk_id} holds a newer certificate than the one presented",
        )
    session.add(
        KioskRequestNonce(kiosk_id=verified.kiosk_id, nonce=verified.nonce, seen_at=utcnow())
    )
    try:
        session.commit()
    except IntegrityError as err:
        session.rollback()
        raise SignatureRefused("replayed", "this signed request was already used") from err
    return verified.kiosk_id


def prune_nonces(session: Session) -> int:
    """Forget nonces old enough that the clock check refuses their requests anyway."""
    result = session.execute(
        delete(KioskRequestNonce).where(KioskRequestNonce.seen_at < utcnow() - NONCE_RETENTION)
    )
    session.commit()
    return result.rowcount or 0
