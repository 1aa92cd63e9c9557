"""The hash-chained audit log: ``record`` appends, ``verify`` walks the chain.

Every ops action and every read of a citizen's data calls ``record`` inside
the caller's transaction, so the action and its audit entry commit together
(or neither does). An entry's hash is SHA-256 over the previous hash and the
entry's canonical JSON (sequence, time, actor, action, target, detail); the
one-row ``audit_head`` holds the newest sequence and hash. Appending locks
that row first (an UPDATE), so concurrent writers queue instead of forking
the chain. ``verify`` recomputes every hash in order and names the first
entry that was changed, removed or inserted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.models import AuditEntry, AuditHead
from backend.models.base import utcnow

GENESIS = "0" * 64
VERIFY_CHUNK = 5000


def _canonical(
    seq: int, ts: datetime, actor: str, action: str, target: str | None, detail: Any
) -> bytes:
    return json.dumps(
        {
            "seq": seq,
            "ts": ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "actor": actor,
            "action": action,
            "target": target,
            "detail": detail,
        },
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    ).encode()


def entry_hash(
    prev_hash: str, seq: int, ts: datetime, actor: str, action: str, target: str | None, detail: Any
) -> str:
    return hashlib.sha256(
        prev_hash.encode() + _canonical(seq, ts, actor, action, target, detail)
    ).hexdigest()


def record(
    session: Session, *, actor: str, action: str, target: str | None, detail: dict | None
) -> AuditEntry:
    """Append one entry in the caller's transaction (the caller commits)."""
    if not actor or not action:
        raise ValueError("an audit entry needs an actor and an action")
    # Take the head's row lock before reading it: writers serialise here.
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(last_seq=AuditHead.last_seq))
    head = session.execute(
        select(AuditHead.last_seq, AuditHead.last_hash).where(AuditHead.id == 1)
    ).one()
    # Round-trip the detail through JSON so the hash covers what the database gives back.
    detail = json.loads(json.dumps(detail, ensure_ascii=False, default=str)) if detail else None
    ts = utcnow()
    seq = head.last_seq + 1
    digest = entry_hash(
        head.last_hash, seq, ts, actor[:120], action[:64], target and target[:200], detail
    )
    entry = AuditEntry(
        seq=seq,
        ts=ts,
        actor=actor[:120],
        action=action[:64],
        target=target[:200] if target else None,
        detail=detail,
        prev_hash=head.last_hash,
        hash=digest,
    )
    session.add(entry)
    session.execute(
        update(AuditHead).where(AuditHead.id == 1).values(last_seq=seq, last_hash=digest)
    )
    session.flush()
    return entry


@dataclass(frozen=True)
class Verdict:
    ok: bool
    entries: int
    first_bad_seq: int | None = None
    reason: str | None = None


def verify(session: Session) -> Verdict:
    """Recompute the chain; the first entry that does not fit, and why."""
    head = session.execute(select(AuditHead.last_seq, AuditHead.last_hash)).one_or_none()
    if head is None:
        return Verdict(False, 0, None, "the audit head row is missing")
    prev, expected_seq, count, after = GENESIS, 1, 0, 0
    while True:
        rows: Sequence[AuditEntry] = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.seq > after)
            .order_by(AuditEntry.seq)
            .limit(VERIFY_CHUNK)
        ).all()
        if not rows:
            break
        for row in rows:
            if row.seq != expected_seq:
                return Verdict(
                    False,
                    count,
                    expected_seq,
                    f"entry {expected_seq} is missing (next is {row.seq})",
                )
            if row.prev_hash != prev:
                return Verdict(
                    False, count, row.seq, f"entry {row.seq} does not follow entry {row.seq - 1}"
                )
            digest = entry_hash(
                prev, row.seq, row.ts, row.actor, row.action, row.target, row.detail
            )
            if digest != row.hash:
                return Verdict(
                    False, count, row.seq, f"entry {row.seq} was changed (hash mismatch)"
                )
            prev, expected_seq, count, after = row.hash, row.seq + 1, count + 1, row.seq
        session.expunge_all()
    if head.last_seq != count or head.last_hash != prev:
        return Verdict(
            False,
            count,
            count + 1,
            f"the log ends at entry {count} but its head says {head.last_seq}: entries were removed",
        )
    return Verdict(True, count)


def recent(
    session: Session, *, limit: int = 100, before: int | None = None, actor: str | None = None
) -> Sequence[AuditEntry]:
    query = select(AuditEntry)
    if before is not None:
        query = query.where(AuditEntry.seq < before)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    return session.scalars(query.order_by(AuditEntry.seq.desc()).limit(limit)).all()
