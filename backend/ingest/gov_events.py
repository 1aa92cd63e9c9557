"""The government-service side of ingest: kiosk applications and ratings become rows.

Called by the pipeline inside the batch's transaction, for the
``application.submitted``, ``rating.submitted`` and ``receipt.printed`` events
of the batch (a receipt the printer could not print goes to the citizen by
SMS and in the inbox: backend/services/receipts.py). Each
event runs in its own savepoint: if one fails unexpectedly it is logged and
skipped, and the event itself stays stored (its application can be rebuilt
from it), so no single event can wedge ingest or lose the others. Both steps
are idempotent (receipt number and event id are unique), so an event sent
twice makes one application.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from backend.core.config import Settings, get_settings
from backend.gov import keys as gov_keys
from backend.gov.providers import (
    NotificationProvider,
    SmsProvider,
    notification_provider,
    sms_provider,
)
from backend.services import applications, dead_letters, ratings, receipts
from mqtt.contract import Channel, topic

logger = logging.getLogger(__name__)

KINDS = ("application.submitted", "rating.submitted", "receipt.printed")


@dataclass(frozen=True)
class GovEvent:
    event_id: str
    kiosk_id: str
    ts: datetime
    kind: str
    body: dict[str, Any]

    def payload(self) -> bytes:
        """The event as JSON, for a dead letter that records why its side effect was refused."""
        return json.dumps(
            {
                "id": self.event_id,
                "kiosk": self.kiosk_id,
                "ts": self.ts.isoformat(),
                "kind": self.kind,
                "body": self.body,
            },
            ensure_ascii=False,
            default=str,
        ).encode()


@dataclass(frozen=True)
class GovIngest:
    resolver: applications.Resolver
    notifier: NotificationProvider | None
    rectification_days: int = 5
    sms: SmsProvider | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> GovIngest:
        from provisioning.ca import CAError, ca_passphrase

        keys = unseal = None
        try:
            passphrase = ca_passphrase()
            keys = gov_keys.load_data_keys(settings.ca_dir, passphrase)
            sealing_key = gov_keys.load_sealing_key(settings.ca_dir, passphrase)

            def unseal(token: str) -> bytes:
                from provisioning import sealing

                return sealing.unseal(sealing_key, token)

        except (CAError, gov_keys.KeyUnavailable, OSError) as err:
            logger.warning("citizen keys unavailable, sealed applicants stay unmatched: %s", err)
        return cls(
            resolver=applications.Resolver(
                keys=keys, unseal=unseal, issuer_public_key=card_issuer_key(settings)
            ),
            notifier=notification_provider(settings.dev_outbox_dir),
            rectification_days=settings.rectification_working_days,
            sms=sms_provider(settings.dev_outbox_dir, settings.sms_gateway_url),
        )


def card_issuer_key(settings: Settings) -> Any:
    """The card issuer's public key that offline proofs are checked with, or None."""
    from provisioning.ca import ENVIRONMENT_ENV
    from provisioning.offline_proof import demo_issuer_public_key, issuer_public_key_from_hex

    if settings.card_issuer_public_key:
        return issuer_public_key_from_hex(settings.card_issuer_public_key)
    if os.environ.get(ENVIRONMENT_ENV) == "development":
        logger.warning("offline proofs are checked with the published DEMO card issuer key")
        return demo_issuer_public_key()
    logger.warning("FLEET_CARD_ISSUER_PUBLIC_KEY unset: offline applications wait for a reviewer")
    return None


@lru_cache(maxsize=1)
def default() -> GovIngest:
    return GovIngest.from_settings(get_settings())


def apply(session: Session, gov: GovIngest, events: list[GovEvent]) -> None:
    for event in events:
        try:
            with session.begin_nested():
                if event.kind == "application.submitted":
                    applications.ingest_kiosk_application(
                        session,
                        gov.resolver,
                        gov.notifier,
                        event_id=event.event_id,
                        kiosk_id=event.kiosk_id,
                        ts=event.ts,
                        body=event.body,
                    )
                elif event.kind == "rating.submitted":
                    ratings.ingest_kiosk_rating(
                        session,
                        event_id=event.event_id,
                        kiosk_id=event.kiosk_id,
                        ts=event.ts,
                        body=event.body,
                        rectification_days=gov.rectification_days,
                    )
                elif event.kind == "receipt.printed":
                    receipts.deliver_unprinted_receipt(
                        session,
                        keys=gov.resolver.keys,
                        sms=gov.sms,
                        notifier=gov.notifier,
                        kiosk_id=event.kiosk_id,
                        body=event.body,
                    )
        except applications.EventRefused as refused:
            # The event stays stored; its side effect is refused, visibly, with the reason.
            logger.warning(
                "event %s (%s) from %s refused: %s",
                event.event_id,
                event.kind,
                event.kiosk_id,
                refused.code,
            )
            dead_letters.record(
                session,
                topic=topic(event.kiosk_id, Channel.EVENTS),
                code=refused.code,
                reason=refused.reason,
                payload=event.payload(),
            )
        except (OperationalError, InterfaceError, DisconnectionError):
            raise  # the database is away: the whole batch is retried later
        except Exception:
            logger.exception(
                "event %s (%s) stored, but not turned into a row", event.event_id, event.kind
            )
