"""A receipt the kiosk could not print reaches the citizen anyway: by SMS and in the inbox.

When the printer is out of paper the kiosk tells the citizen that the receipt
comes by SMS and in the mini-app, and records ``receipt.printed`` with the
outcome ``out_of_paper``. Ingest calls :func:`deliver_unprinted_receipt` for
that event: the backend knows the applicant (the application made from the
same visit) and their phone number. Once per receipt: a redelivered event
finds the inbox row and sends nothing again.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.gov.keys import DataKeys
from backend.gov.providers import NotificationProvider, SmsProvider, SmsUnavailable
from backend.models import Citizen, Notification
from backend.services import applications, notifications

logger = logging.getLogger(__name__)

KIND = "receipt_unprinted"


def deliver_unprinted_receipt(
    session: Session,
    *,
    keys: DataKeys | None,
    sms: SmsProvider | None,
    notifier: NotificationProvider | None,
    kiosk_id: str,
    body: dict[str, Any],
) -> bool:
    """Send the receipt of an out-of-paper ``receipt.printed`` event; True if it was sent now."""
    receipt_no = body.get("reference")
    if body.get("document") != "receipt" or body.get("outcome") != "out_of_paper":
        return False
    if not receipt_no:
        return False
    application = applications.get_by_id_or_receipt(session, str(receipt_no))
    if application is None or application.citizen_id is None:
        logger.warning("unprinted receipt %s: no matched applicant to send it to", receipt_no)
        return False
    if application.kiosk_id != kiosk_id or (
        body.get("session_id")
        and application.kiosk_session_id
        and application.kiosk_session_id != str(body["session_id"])
    ):
        # Only the kiosk (and visit) that made the application may have its receipt sent.
        raise applications.EventRefused(
            "foreign_reference",
            f"回执 {receipt_no} 的办件不是在终端 {kiosk_id} 的本次会话中办理的，未发送短信",
        )
    already = session.scalar(
        select(Notification.id).where(
            Notification.citizen_id == application.citizen_id,
            Notification.kind == KIND,
            Notification.reference == application.receipt_no,
        )
    )
    if already is not None:
        return False
    text = (
        f"【政务服务】您在自助终端申请的“{application.item_name}”已受理，"
        f"受理编号 {application.receipt_no}。终端缺纸未能打印回执，"
        "可凭本短信或在“政务服务”小程序查看办理进度。"
    )
    notifications.notify(
        session,
        notifier,
        citizen_id=application.citizen_id,
        kind=KIND,
        title="受理回执",
        body=text,
        reference=application.receipt_no,
    )
    citizen = session.get(Citizen, application.citizen_id)
    if sms is not None and keys is not None and citizen is not None and citizen.phone_enc:
        try:
            sms.send_text(keys.decrypt(citizen.phone_enc), text)
        except SmsUnavailable as err:  # the inbox message stands: the mini-app still shows it
            logger.warning("unprinted receipt %s: SMS not sent: %s", application.receipt_no, err)
    return True
