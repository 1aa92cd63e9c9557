"""The backend's tables, one module per aggregate; ``Base.metadata`` is what Alembic migrates."""

from backend.models.api_token import ApiToken
from backend.models.base import Base
from backend.models.command_result import CommandResultRow
from backend.models.dead_letter import DeadLetter
from backend.models.enrolment import Enrolment, EnrolmentCode
from backend.models.event import Event
from backend.models.health import HealthSnapshot
from backend.models.kiosk import Kiosk
from backend.models.kiosk_request import KioskRequestNonce

__all__ = [
    "ApiToken",
    "Base",
    "CommandResultRow",
    "DeadLetter",
    "Enrolment",
    "EnrolmentCode",
    "Event",
    "HealthSnapshot",
    "Kiosk",
    "KioskRequestNonce",
]
