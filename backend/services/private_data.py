"""Personal fields of application forms: kept encrypted, shown masked, read by a reviewer on record.

A form field whose value holds an identity or mobile number (``contact_phone``,
the kiosk's ``phone``, or any other) is stored twice: masked in
``applications.form`` (what every response shows: ``138****8000``) and in
clear inside ``applications.form_private``, one AES-GCM token over the JSON
of those fields under the citizen-data key (backend/gov/keys.py), like the
identity columns of ``citizens``. A reviewer who must call the applicant
reads them with ``reveal_form``, which writes the read to the audit log and
to the citizen's access log first (backend/services/citizen_audit.py).

Without keys (ingest started while the CA passphrase was unavailable) the
form is stored masked only, and the log says so: the clear number is then
lost for that application, never stored in clear.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy.orm import Session

from backend.core.privacy import find_personal_numbers
from backend.gov.keys import DataKeys
from backend.models import Application
from backend.models.private_text import mask_form
from backend.services import citizen_audit

logger = logging.getLogger(__name__)

FORM_PURPOSE = "application-form-v1"


class NothingPrivate(Exception):
    """The application's form holds no encrypted personal field."""


def personal_fields(form: dict[str, Any]) -> dict[str, str]:
    """The form's fields whose value holds an identity or mobile number, in clear."""
    return {k: v for k, v in form.items() if isinstance(v, str) and v and find_personal_numbers(v)}


def protect_form(
    form: dict[str, Any] | None, keys: DataKeys | None, *, previous: str | None = None
) -> dict[str, Any]:
    """``form`` (masked) and ``form_private`` (its personal fields, encrypted), as column values.

    ``previous`` is an existing ``form_private`` token whose fields are kept
    (the rewrap of an application stored before this module existed).
    """
    form = dict(form or {})
    private = personal_fields(form)
    if not private:
        return {"form": form, "form_private": previous}
    if keys is None:
        logger.warning(
            "citizen-data keys unavailable: %d personal form field(s) stored masked only",
            len(private),
        )
        return {"form": mask_form(form), "form_private": previous}
    if previous:
        private = {**_open(keys, previous), **private}
    token = keys.encrypt_bytes(
        json.dumps(private, ensure_ascii=False, sort_keys=True).encode(), FORM_PURPOSE
    )
    return {"form": mask_form(form), "form_private": token.hex()}


def _open(keys: DataKeys, token: str) -> dict[str, str]:
    return json.loads(keys.decrypt_bytes(bytes.fromhex(token), FORM_PURPOSE))


def reveal_form(
    session: Session, keys: DataKeys, application: Application, *, actor: str, reason: str
) -> dict[str, str]:
    """The form's personal fields in clear, for ``actor``; the read is audited in this transaction."""
    if not application.form_private:
        raise NothingPrivate(application.receipt_no)
    fields = _open(keys, application.form_private)
    citizen_audit.record(
        session,
        actor=actor,
        citizen_id=application.citizen_id,
        action="application.form_revealed",
        detail=f"办件 {application.receipt_no}，字段 {', '.join(sorted(fields))}；事由：{reason}",
    )
    return fields
