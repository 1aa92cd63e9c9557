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
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from backend.core.privacy import find_personal_numbers, mask_personal_data
from backend.gov.keys import DataKeys
from backend.models import Application, DeadLetter
from backend.models.private_text import FREE_TEXT, mask_form
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


# --- rows stored before masking and encryption: ``fleet-backend privacy rewrap`` ----------------


@dataclass
class RewrapSummary:
    dead_letters: int = 0
    forms: int = 0
    texts: int = 0


def rewrap(session: Session, keys: DataKeys, *, chunk: int = 500) -> RewrapSummary:
    """Mask and encrypt what is already stored (idempotent: a second run changes nothing).

    Dead letters still in clear are encrypted and masked; forms with clear
    personal fields get them encrypted (kept with any already encrypted) and
    masked; every free-text column of ``FREE_TEXT`` is masked. Runs in
    ``session``'s transaction; the caller commits.
    """
    from backend.services import dead_letters

    summary = RewrapSummary()
    last = 0
    while True:
        rows = session.scalars(
            select(DeadLetter)
            .where(DeadLetter.id > last, DeadLetter.payload_protection.is_(None))
            .order_by(DeadLetter.id)
            .limit(chunk)
        ).all()
        if not rows:
            break
        for row in rows:
            for column, value in dead_letters.protect_payload(row.payload, keys).items():
                setattr(row, column, value)
            summary.dead_letters += 1
        last = rows[-1].id
        session.flush()
    for application in session.scalars(select(Application)).yield_per(chunk):
        # The listener masks on assignment, so compare with what was loaded, unmasked.
        form = dict(application.__dict__.get("form") or {})
        if personal_fields(form):
            protected = protect_form(form, keys, previous=application.form_private)
            application.form, application.form_private = (
                protected["form"],
                protected["form_private"],
            )
            summary.forms += 1
    for model, columns in FREE_TEXT.items():
        for row in session.scalars(select(model)).yield_per(chunk):
            for column in columns:
                value = row.__dict__.get(column)
                if isinstance(value, str) and mask_personal_data(value) != value:
                    setattr(row, column, value)  # the listener masks it
                    summary.texts += 1
    session.flush()
    return summary


def purge_old_copies(engine: Engine) -> None:
    """Overwrite the old copies a rewrite leaves behind: the rows as they were stay in
    SQLite's write-ahead log and free pages, and as dead tuples in PostgreSQL, until the
    database reclaims them. Run after ``rewrap`` has committed (takes table locks)."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA secure_delete = ON")
            connection.exec_driver_sql("VACUUM")
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return
    tables = {model.__tablename__ for model in FREE_TEXT} | {"dead_letters", "applications"}
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in sorted(tables):
            connection.exec_driver_sql(f'VACUUM (FULL) "{table}"')
