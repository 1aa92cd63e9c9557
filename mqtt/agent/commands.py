"""Remote commands the agent runs, by name.

A command carries an expiry: one that arrives late (a stale "unlock" or
"print" queued for hours) is refused as expired, never run. Every command gets
exactly one result; a name the agent does not know is answered "unsupported".
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mqtt.contract.envelope import utc_now
from mqtt.contract.messages import Command, CommandResult

logger = logging.getLogger(__name__)


@dataclass
class Outcome:
    outcome: str = "done"
    detail: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[dict[str, Any]], Outcome]

# Carried out by the kiosk app through mqtt.agent.app_commands (the agent cannot lock the
# screen or drive the printer); the agent runs the rest itself.
APP_COMMANDS = frozenset({"restart_app", "lock", "unlock", "print_test_page", "sync_catalog"})


class CommandRunner:
    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def register(self, name: str, handler: Handler) -> None:
        self._handlers[name] = handler

    @property
    def names(self) -> list[str]:
        return sorted(self._handlers)

    def run(self, command_id: Any, command: Command) -> CommandResult:
        if command.expires_at <= utc_now():
            return CommandResult(
                command_id=command_id, outcome="expired", detail=f"expired at {command.expires_at}"
            )
        handler = self._handlers.get(command.name)
        if handler is None:
            return CommandResult(
                command_id=command_id,
                outcome="unsupported",
                detail=f"unknown command {command.name!r}; known: {', '.join(self.names)}",
            )
        try:
            result = handler(command.args)
        except Exception as err:
            logger.exception("command %s failed", command.name)
            return CommandResult(command_id=command_id, outcome="failed", detail=str(err)[:500])
        return CommandResult(
            command_id=command_id, outcome=result.outcome, detail=result.detail, data=result.data
        )
