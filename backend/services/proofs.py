"""What proves that a citizen acted: checked for every kiosk event that acts for one.

An enrolled kiosk is trusted to report what happened at it, not to speak for
any citizen it likes. An event that acts for a citizen (an application, a
rating tied to an application, a receipt sent by SMS) is honoured only with
proof that the citizen was at the sending kiosk:

- online, the kiosk session the backend itself issued to that kiosk for that
  citizen (``citizen_session``, the session's public ``ref``), and the event's
  time within that session's life;
- offline, the sealed applicant checked against the card's signed answer to a
  challenge made of the application itself, with the face decision, signed by
  the kiosk at that moment (``provisioning/offline_proof.py``).

Each check returns the proof as a small dict, kept with the application so
that anyone can later see which person acted and what proved it, or a reason
(in Chinese, for the reviewer) why there is no proof. Nothing here raises for
bad input: a claim without proof waits for a person, it is never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.models import CitizenToken, Enrolment

# The kiosk's clock may differ a little from the backend's; an event made at the very end of
# a session may also be stamped a moment after the citizen pressed 退出.
SESSION_GRACE = timedelta(seconds=60)


@dataclass(frozen=True)
class Checked:
    """The outcome of a check: ``proof`` when it holds, else ``reason``."""

    proof: dict[str, Any] | None
    reason: str | None = None

    @property
    def holds(self) -> bool:
        return self.proof is not None


def refused(reason: str) -> Checked:
    return Checked(None, reason)


def kiosk_session(
    session: Session,
    *,
    kiosk_id: str,
    citizen_id: str | None,
    session_ref: str | None,
    at: datetime,
) -> Checked:
    """Whether ``session_ref`` is a session the backend issued to ``kiosk_id`` for
    ``citizen_id`` that was open at ``at`` (the event's time, already bounded by ingest)."""
    if not session_ref:
        return refused("事件未携带后端签发的终端会话，无法证明申请人在该终端")
    token = session.scalar(select(CitizenToken).where(CitizenToken.ref == str(session_ref)))
    if token is None or token.channel != "kiosk":
        return refused("事件引用的终端会话不存在或已过保存期")
    if token.kiosk_id != kiosk_id:
        return refused("事件引用的会话不是后端签发给该终端的")
    enrolment = session.get(Enrolment, kiosk_id)
    if enrolment is not None and enrolment.retired_at is not None:
        return refused("发送终端已退役，其会话不再为任何人作证")
    if citizen_id is not None and token.citizen_id != str(citizen_id):
        return refused("事件中的公民与该会话核验的公民不一致")
    ended = min(token.expires_at, token.revoked_at or token.expires_at)
    if not token.created_at - SESSION_GRACE <= at <= ended + SESSION_GRACE:
        return refused("事件时间不在该会话的有效期内")
    return Checked(
        {
            "kind": "kiosk_session",
            "kiosk_id": kiosk_id,
            "citizen_id": token.citizen_id,
            "session_ref": token.ref,
            "session_opened_at": token.created_at.isoformat(),
        }
    )


def citizen_token(token: CitizenToken) -> dict[str, Any]:
    """The proof behind an application made through the citizen API (either channel)."""
    proof: dict[str, Any] = {"kind": f"{token.channel}_token"}
    if token.kiosk_id:
        proof.update(kiosk_id=token.kiosk_id, session_ref=token.ref)
    if token.account_id:
        proof["account_id"] = token.account_id
    return proof


def reviewer(actor: str, reason: str) -> dict[str, Any]:
    """A person matched the applicant by hand (an unmatched application)."""
    return {"kind": "reviewer", "actor": actor, "reason": reason[:200]}


def offline_card(
    session: Session,
    issuer_public_key: Any,
    wire: dict[str, Any],
    *,
    kiosk_id: str,
    receipt_no: str,
    item_code: str,
    applicant_sealed: str,
    id_number: str,
) -> Checked:
    """An offline kiosk's proof: the card answered this application's own challenge, the
    face matched, and the kiosk signed it with the certificate it is enrolled with."""
    from cryptography import x509

    from provisioning.offline_proof import OfflineProofRefused, verify

    if issuer_public_key is None:
        return refused(
            "后端未配置证件签发机构公钥（FLEET_CARD_ISSUER_PUBLIC_KEY），无法核验离线申请"
        )
    enrolment = session.get(Enrolment, kiosk_id)
    if enrolment is None or not enrolment.certificate_pem:
        return refused("发送终端没有登记证书，无法核验其离线证明")
    if enrolment.retired_at is not None:
        return refused("发送终端已退役，其离线证明不予采信")
    try:
        certificate = x509.load_pem_x509_certificate(enrolment.certificate_pem.encode())
        verify(
            wire,
            kiosk_id=kiosk_id,
            receipt_no=receipt_no,
            item_code=item_code,
            applicant_sealed=applicant_sealed,
            id_number=id_number,
            kiosk_certificate=certificate,
            issuer_public_key=issuer_public_key,
        )
    except OfflineProofRefused as err:
        return refused(f"离线证明未通过核验（{err.code}）：{err.message_zh}")
    except ValueError as err:
        return refused(f"离线证明无法核验：{err}"[:300])
    card = wire.get("card") or {}
    return Checked(
        {
            "kind": "offline_card",
            "kiosk_id": kiosk_id,
            "card_serial": card.get("serial"),
            "face": wire.get("face"),
            "at": wire.get("at"),
            "kiosk_certificate_serial": enrolment.certificate_serial,
        }
    )
