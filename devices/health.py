"""What every device reports about itself, for the agent's health snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

DeviceState = Literal["ok", "degraded", "fault", "absent", "unknown"]


@dataclass(frozen=True)
class DeviceHealth:
    state: DeviceState
    detail: str | None = None
    paper: Literal["ok", "low", "out", "unknown"] | None = None  # printers only


class HealthProbe(Protocol):
    def health(self) -> DeviceHealth:
        """Quick, non-blocking (well under a second); never raises."""
        ...
