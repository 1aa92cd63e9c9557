"""The backend's tables, one module per aggregate; ``Base.metadata`` is what Alembic migrates."""

from backend.models import private_text  # noqa: F401  (masks free text as it is assigned)
from backend.models.alert import Alert
from backend.models.api_token import ApiToken
from backend.models.application import Application, ApplicationHistory, Notification
from backend.models.audit import AuditEntry, AuditHead
from backend.models.base import Base
from backend.models.catalog import CatalogMeta, Department, LifeEvent, LifeEventItem, ServiceItem
from backend.models.citizen import (
    BindingChallenge,
    Citizen,
    CitizenAccessLog,
    CitizenAccount,
    CitizenToken,
    PhoneBinding,
    SmsCode,
)
from backend.models.command import RemoteCommand
from backend.models.command_result import CommandResultRow
from backend.models.dead_letter import DeadLetter
from backend.models.enrolment import Enrolment, EnrolmentCode
from backend.models.event import Event
from backend.models.faq import Faq, Question, QuestionHistory
from backend.models.fleet_sample import FleetSample
from backend.models.health import HealthSnapshot
from backend.models.kiosk import Kiosk
from backend.models.kiosk_request import KioskRequestNonce
from backend.models.licence import Licence
from backend.models.rating import Rating, RectificationTask
from backend.models.region import KioskPlacement, TokenRegion
from backend.models.retained import RetainedSeen
from backend.models.session import LoginSession
from backend.models.throttle import AttemptCounter
from backend.models.user import User

__all__ = [
    "Alert",
    "ApiToken",
    "Application",
    "ApplicationHistory",
    "AttemptCounter",
    "AuditEntry",
    "AuditHead",
    "Base",
    "BindingChallenge",
    "CatalogMeta",
    "Citizen",
    "CitizenAccessLog",
    "CitizenAccount",
    "CitizenToken",
    "CommandResultRow",
    "DeadLetter",
    "Department",
    "Enrolment",
    "EnrolmentCode",
    "Event",
    "Faq",
    "FleetSample",
    "HealthSnapshot",
    "Kiosk",
    "KioskPlacement",
    "KioskRequestNonce",
    "Licence",
    "LifeEvent",
    "LifeEventItem",
    "LoginSession",
    "Notification",
    "PhoneBinding",
    "Question",
    "QuestionHistory",
    "Rating",
    "RectificationTask",
    "RemoteCommand",
    "RetainedSeen",
    "ServiceItem",
    "SmsCode",
    "TokenRegion",
    "User",
]
