"""The keyed, hash-chained audit log: ``record`` appends, ``verify`` walks it, checkpoints anchor it.

Every ops action and every read of a citizen's data calls ``record`` inside
the caller's transaction, so the action and its audit entry commit together
(or neither does). An entry's ``hash`` is an HMAC-SHA256 under the audit key
(held in ``FLEET_CA_DIR``, sealed with the CA passphrase, never in the
database: backend/gov/keys.py) over the previous ``hash`` and the entry's
content; its ``tags`` name the field a rewrite changed (see
backend/services/audit_chain.py). The one-row ``audit_head`` holds the
newest sequence, MAC and its own MAC. Appending locks that row first (an
UPDATE), so concurrent writers queue instead of forking the chain.

``verify`` recomputes everything and names each problem; given the
checkpoint file (signed heads kept outside the database,
backend/services/audit_checkpoints.py) it also says what was removed or
changed since each checkpoint. ``take_checkpoint`` checks the entries since
the last checkpoint and appends a new one.

Without the key, ``record`` refuses (``AuditKeyUnavailable``): an action
that cannot be audited is not done.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.gov.keys import AuditKeys, KeyUnavailable, load_audit_keys
from backend.models import AuditEntry, AuditHead
from backend.models.base import utcnow
from backend.services import audit_checkpoints
from backend.services.audit_chain import (
    GENESIS,
    Finding,
    Walker,
    entry_mac,
    field_tags,
    head_mac,
    ts_text,
)
from backend.services.audit_checkpoints import Checkpoint

logger = logging.getLogger(__name__)

VERIFY_CHUNK = 5000
KEYS_INFO = "audit_keys"  # Session.info key of a KeysProvider (see keys_provider)

KeysProvider = Callable[[], AuditKeys]


class AuditKeyUnavailable(Exception):
    """The audit key cannot be loaded (no CA passphrase, or a wrong one): nothing is recorded."""


class CheckpointRefused(Exception):
    """The log does not verify since the last checkpoint: signing its head would launder it."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        self.findings = tuple(findings)
        super().__init__("; ".join(f.text for f in self.findings))


def keys_provider(ca_dir: Path) -> KeysProvider:
    """Loads (once per process) the audit keys of ``ca_dir`` with ``FLEET_CA_PASSPHRASE``."""

    def load() -> AuditKeys:
        from provisioning.ca import CAError, ca_passphrase

        try:
            return load_audit_keys(Path(ca_dir), ca_passphrase())
        except (CAError, KeyUnavailable, OSError) as err:
            raise AuditKeyUnavailable(f"the audit key is not available: {err}") from err

    return load


def keys_for(session: Session) -> AuditKeys:
    """The keys bound to the session's maker (``KEYS_INFO``), else those of the process settings."""
    provider = session.info.get(KEYS_INFO)
    if provider is None:
        from backend.core.config import get_settings

        provider = keys_provider(get_settings().ca_dir)
    return provider()


def record(
    session: Session, *, actor: str, action: str, target: str | None, detail: dict | None
) -> AuditEntry:
    """Append one entry in the caller's transaction (the caller commits)."""
    if not actor or not action:
        raise ValueError("an audit entry needs an actor and an action")
    keys = keys_for(session)  # before any write: without the key, nothing happens
    key = keys.macs[keys.current]
    # Take the head's row lock before reading it: writers serialise here.
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(last_seq=AuditHead.last_seq))
    head = session.execute(
        select(AuditHead.last_seq, AuditHead.last_hash).where(AuditHead.id == 1)
    ).one()
    # Round-trip the detail through JSON so the MAC covers what the database gives back.
    detail = json_roundtrip(detail) if detail else None
    ts = utcnow()
    seq = head.last_seq + 1
    actor, action, target = actor[:120], action[:64], target[:200] if target else None
    content = (seq, ts, actor, action, target, detail)
    digest = entry_mac(key, keys.current, head.last_hash, *content)
    entry = AuditEntry(
        seq=seq,
        ts=ts,
        actor=actor,
        action=action,
        target=target,
        detail=detail,
        prev_hash=head.last_hash,
        hash=digest,
        key_id=keys.current,
        tags=field_tags(key, keys.current, *content),
    )
    session.add(entry)
    session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(
            last_seq=seq,
            last_hash=digest,
            key_id=keys.current,
            mac=head_mac(key, keys.current, seq, digest),
        )
    )
    session.flush()
    return entry


def json_roundtrip(value: Any) -> Any:
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


@dataclass(frozen=True)
class Verdict:
    ok: bool
    entries: int
    first_bad_seq: int | None = None
    reason: str | None = None
    legacy: int = 0  # leading entries of earlier versions: unkeyed SHA-256, weaker
    keyed: int = 0
    findings: tuple[Finding, ...] = ()
    checkpoint: Checkpoint | None = None  # the latest checkpoint checked against
    checkpoints: int = 0
    checkpoint_file: Path | None = None
    key_ids: tuple[str, ...] = field(default=())


def _walk(session: Session, walker: Walker, *, after: int = 0, upto: int | None = None) -> int:
    rows_seen = 0
    while True:
        query = select(AuditEntry).where(AuditEntry.seq > after)
        if upto is not None:
            query = query.where(AuditEntry.seq <= upto)
        rows: Sequence[AuditEntry] = session.scalars(
            query.order_by(AuditEntry.seq).limit(VERIFY_CHUNK)
        ).all()
        if not rows:
            return rows_seen
        for row in rows:
            walker.feed(row)
        rows_seen += len(rows)
        after = rows[-1].seq
        session.expunge_all()


def _head(session: Session) -> Any:
    return session.execute(
        select(AuditHead.last_seq, AuditHead.last_hash, AuditHead.key_id, AuditHead.mac)
    ).one_or_none()


def _head_findings(head: Any, walker: Walker, keys: AuditKeys | None) -> list[Finding]:
    if head.last_seq > walker.last_seq:
        return [Finding("head_behind", walker.last_seq + 1, head.last_seq)]
    if head.last_seq < walker.last_seq:
        return [Finding("beyond_head", head.last_seq + 1, walker.last_seq)]
    if head.last_hash != walker.prev:
        return [Finding("head_mac", head.last_seq)]
    if keys is None or (head.key_id is None and walker.last_key_id is None):
        return []  # an empty or all-legacy log has an unkeyed head
    key = keys.mac_key(head.key_id or "")
    if (
        head.key_id != walker.last_key_id
        or key is None
        or head.mac != head_mac(key, head.key_id, head.last_seq, head.last_hash)
    ):
        return [Finding("head_mac", head.last_seq)]
    return []


def verify(
    session: Session, *, checkpoint_file: Path | None = None, keys: AuditKeys | None = None
) -> Verdict:
    """Walk the whole log; with a checkpoint file, compare it with every signed checkpoint."""
    key_error = ""
    if keys is None:
        try:
            keys = keys_for(session)
        except AuditKeyUnavailable as err:
            key_error = str(err)
    head = _head(session)
    if head is None:
        finding = Finding("head_missing")
        return Verdict(False, 0, None, finding.text, findings=(finding,))
    checkpoints: list[Checkpoint] = []
    findings: list[Finding] = []
    if checkpoint_file is not None and keys is not None and checkpoint_file.exists():
        checkpoints, findings = audit_checkpoints.read(checkpoint_file, keys.checkpoint_public)
    walker = Walker(keys, key_error, watch=frozenset(c.last_seq for c in checkpoints))
    entries = _walk(session, walker)
    if walker.last_seq > head.last_seq:  # an entry appended while we walked: look again
        head = _head(session)
    findings = walker.finish() + _head_findings(head, walker, keys) + findings
    findings += audit_checkpoints.compare(
        checkpoints, last_seq=walker.last_seq, legacy=walker.legacy, stored=walker.watched
    )
    first = next((f for f in findings if f.seq is not None), findings[0] if findings else None)
    return Verdict(
        ok=not findings,
        entries=entries,
        first_bad_seq=first.seq if first else None,
        reason=first.text if first else None,
        legacy=walker.legacy,
        keyed=walker.keyed,
        findings=tuple(findings),
        checkpoint=checkpoints[-1] if checkpoints else None,
        checkpoints=len(checkpoints),
        checkpoint_file=checkpoint_file,
        key_ids=tuple(sorted(keys.macs)) if keys else (),
    )


def take_checkpoint(
    session: Session,
    keys: AuditKeys,
    path: Path,
    *,
    url: str | None = None,
    force: bool = False,
) -> Checkpoint | None:
    """Check the entries since the last checkpoint, then sign and append the head.

    None when nothing was appended since the last checkpoint (unless ``force``).
    Raises ``CheckpointRefused`` if anything since does not verify, or the
    file holds a line whose signature fails.
    """
    checkpoints, bad = (
        ([], []) if not path.exists() else audit_checkpoints.read(path, keys.checkpoint_public)
    )
    if bad:
        raise CheckpointRefused(bad)
    head = _head(session)
    if head is None:
        raise CheckpointRefused([Finding("head_missing")])
    last = checkpoints[-1] if checkpoints else None
    if last and not force and (last.last_seq, last.last_mac) == (head.last_seq, head.last_hash):
        return None
    walker = Walker(keys)
    if last is not None:
        stored = (
            session.scalar(select(AuditEntry.hash).where(AuditEntry.seq == last.last_seq))
            if last.last_seq
            else GENESIS
        )
        if head.last_seq < last.last_seq or stored != last.last_mac:
            raise CheckpointRefused(
                audit_checkpoints.compare(
                    [last],
                    last_seq=head.last_seq,
                    legacy=last.legacy,
                    stored={last.last_seq: stored} if stored else {},
                )
                or [Finding("cp_changed", last.last_seq, cp=last.number, note=last.label)]
            )
        walker = Walker(
            keys,
            prev=last.last_mac,
            expected=last.last_seq + 1,
            legacy=last.legacy,
            keyed=last.last_seq - last.legacy,
        )
        walker.last_key_id = last.key_id
    _walk(session, walker, after=walker.last_seq, upto=head.last_seq)
    found = walker.finish() + _head_findings(head, walker, keys)
    if found:
        raise CheckpointRefused(found)
    checkpoint = audit_checkpoints.sign(
        keys,
        entries=head.last_seq,
        last_seq=head.last_seq,
        last_mac=head.last_hash,
        key_id=head.key_id,
        legacy=walker.legacy,
        at=ts_text(utcnow()),
    )
    audit_checkpoints.append(path, checkpoint)
    if url:
        audit_checkpoints.post(url, checkpoint)
    logger.info("audit checkpoint: %d entries, head %s", checkpoint.entries, checkpoint.last_mac)
    return checkpoint


def recent(
    session: Session, *, limit: int = 100, before: int | None = None, actor: str | None = None
) -> Sequence[AuditEntry]:
    query = select(AuditEntry)
    if before is not None:
        query = query.where(AuditEntry.seq < before)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    return session.scalars(query.order_by(AuditEntry.seq.desc()).limit(limit)).all()
