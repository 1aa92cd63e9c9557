"""Remote commands: record, publish with an expiry, and follow each to its result.

A command is recorded (who, when, kiosk, name, arguments, expiry) in the
same transaction as its audit entry, then published on ``kiosk/{id}/commands``
with the MQTT 5 Message Expiry Interval (the broker drops it if the kiosk is
away longer) and ``expires_at`` in the body (the agent refuses it if it still
arrives late). Its state is derived, never stored twice: the kiosk's
``command.result`` (stored by ingest) decides done/failed/expired/unsupported;
without one, it is "sent" until its timeout, then "timed_out"; a command the
broker never took is "failed" with the reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core.config import Settings
from backend.models import CommandResultRow, RemoteCommand
from backend.services import audit
from backend.services.publisher import CommandPublisher, PublishError
from mqtt.contract import Channel, ContractError, encode, make_envelope, topic
from mqtt.contract.messages import Command

# name -> (Chinese label, whether the kiosk app (not the agent) carries it out)
COMMANDS: dict[str, tuple[str, bool]] = {
    "restart_app": ("重启应用", True),
    "lock": ("锁定（维护画面）", True),
    "unlock": ("解除锁定", True),
    "print_test_page": ("打印测试页", True),
    "sync_catalog": ("立即同步事项目录", True),
    "collect_diagnostics": ("收集诊断信息", False),
}
STATE_NAMES = {
    "sent": "已发送",
    "done": "已完成",
    "failed": "失败",
    "expired": "已过期",
    "unsupported": "不支持",
    "timed_out": "超时无回应",
}


class CommandRefused(ValueError):
    """The command cannot be sent as asked (unknown name, bad arguments)."""


@dataclass(frozen=True)
class CommandView:
    id: str
    kiosk_id: str
    name: str
    label: str
    args: dict[str, Any]
    created_by: str
    created_at: datetime
    expires_at: datetime
    state: str
    state_name: str
    result_at: datetime | None
    detail: str | None
    data: dict[str, Any] | None


def _state(cmd: RemoteCommand, result: CommandResultRow | None, now: datetime) -> str:
    if result is not None:
        return result.outcome
    if cmd.publish_error:
        return "failed"
    return "timed_out" if now >= cmd.timeout_at else "sent"


def _view(cmd: RemoteCommand, result: CommandResultRow | None, now: datetime) -> CommandView:
    state = _state(cmd, result, now)
    return CommandView(
        id=cmd.id,
        kiosk_id=cmd.kiosk_id,
        name=cmd.name,
        label=COMMANDS.get(cmd.name, (cmd.name, False))[0],
        args=cmd.args,
        created_by=cmd.created_by,
        created_at=cmd.created_at,
        expires_at=cmd.expires_at,
        state=state,
        state_name=STATE_NAMES.get(state, state),
        result_at=result.ts if result else None,
        detail=result.detail if result else cmd.publish_error,
        data=result.data if result else None,
    )


def send(
    session: Session,
    publisher: CommandPublisher,
    settings: Settings,
    *,
    kiosk_id: str,
    name: str,
    args: dict[str, Any] | None,
    actor: str,
    now: datetime,
    ttl_s: int | None = None,
) -> CommandView:
    """Record, audit, commit, then publish; the view says whether the broker took it."""
    if name not in COMMANDS:
        raise CommandRefused(f"unknown command {name!r}; known: {', '.join(COMMANDS)}")
    ttl = ttl_s or settings.command_ttl_s
    try:
        body = Command(name=name, args=args or {}, expires_at=now + timedelta(seconds=ttl))
        envelope = make_envelope(kiosk_id, "command", body)
        payload = encode(envelope)
    except (ValidationError, ContractError) as err:
        raise CommandRefused(f"bad command arguments: {err}") from err
    cmd = RemoteCommand(
        id=str(envelope.id),
        kiosk_id=kiosk_id,
        name=name,
        args=body.args,
        created_by=actor,
        created_at=now,
        expires_at=body.expires_at,
        timeout_at=now + timedelta(seconds=max(ttl, settings.command_timeout_s)),
    )
    session.add(cmd)
    audit.record(
        session,
        actor=actor,
        action="command.send",
        target=kiosk_id,
        detail={"command_id": cmd.id, "name": name, "args": body.args, "ttl_s": ttl},
    )
    session.commit()  # recorded before it can run: a result never arrives for an unknown command
    try:
        publisher.publish(topic(kiosk_id, Channel.COMMANDS), payload, expiry_s=ttl)
    except PublishError as err:
        cmd.publish_error = str(err)[:500]
        audit.record(
            session,
            actor="system:publisher",
            action="command.publish_failed",
            target=kiosk_id,
            detail={"command_id": cmd.id, "error": cmd.publish_error},
        )
        session.commit()
    return _view(cmd, None, now)


def _results(session: Session, ids: Sequence[str]) -> dict[str, CommandResultRow]:
    if not ids:
        return {}
    rows = session.scalars(
        select(CommandResultRow)
        .where(CommandResultRow.command_id.in_(ids))
        .order_by(CommandResultRow.received_at)
    )
    return {r.command_id: r for r in rows}  # a repeated result: the last one wins


def list_for_kiosk(
    session: Session, kiosk_id: str, *, now: datetime, limit: int = 50
) -> list[CommandView]:
    cmds = session.scalars(
        select(RemoteCommand)
        .where(RemoteCommand.kiosk_id == kiosk_id)
        .order_by(RemoteCommand.created_at.desc())
        .limit(limit)
    ).all()
    results = _results(session, [c.id for c in cmds])
    # a result from another kiosk for this id is not this command's result
    return [
        _view(c, r if r and r.kiosk_id == c.kiosk_id else None, now)
        for c in cmds
        for r in [results.get(c.id)]
    ]


def get(session: Session, command_id: str, *, now: datetime) -> CommandView | None:
    try:
        uuid.UUID(command_id)
    except ValueError:
        return None
    cmd = session.get(RemoteCommand, command_id)
    if cmd is None:
        return None
    result = _results(session, [command_id]).get(command_id)
    return _view(cmd, result if result and result.kiosk_id == cmd.kiosk_id else None, now)
