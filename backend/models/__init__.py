"""The backend's tables, one module per aggregate; ``Base.metadata`` is what Alembic migrates."""

from backend.models.base import Base
from backend.models.command_result import CommandResultRow
from backend.models.dead_letter import DeadLetter
from backend.models.event import Event
from backend.models.health import HealthSnapshot
from backend.models.kiosk import Kiosk

__all__ = ["Base", "CommandResultRow", "DeadLetter", "Event", "HealthSnapshot", "Kiosk"]
