"""Where alert changes go besides the database: the log, and a webhook if configured.

``Notifier`` is the interface (one method); ``WebhookNotifier`` POSTs each
change as JSON to ``FLEET_ALERT_WEBHOOK_URL`` (a duty phone gateway, a chat
bot, a ticketing system). A notifier must never stop the worker: failures are
logged once per change and dropped, since the alert itself is in the database.
"""

from __future__ import annotations

import logging
from typing import Protocol

import httpx

from backend.services.alerts import AlertChange

logger = logging.getLogger(__name__)


class Notifier(Protocol):
    def notify(self, change: AlertChange) -> None: ...


class LogNotifier:
    def notify(self, change: AlertChange) -> None:
        log = logger.warning if change.change in ("opened", "escalated") else logger.info
        log(
            "alert %s: %s %s on %s: %s",
            change.alert_id,
            change.change,
            change.rule,
            change.kiosk_id,
            change.detail,
        )


class WebhookNotifier:
    def __init__(
        self, url: str, *, timeout_s: float = 5.0, client: httpx.Client | None = None
    ) -> None:
        self.url = url
        self.client = client or httpx.Client(timeout=timeout_s)

    def notify(self, change: AlertChange) -> None:
        try:
            response = self.client.post(self.url, json=change.as_json())
            response.raise_for_status()
        except httpx.HTTPError as err:
            logger.warning(
                "alert webhook %s failed for alert %s: %s", self.url, change.alert_id, err
            )


class Notifiers:
    def __init__(self, *notifiers: Notifier) -> None:
        self.notifiers = notifiers

    def notify(self, change: AlertChange) -> None:
        for notifier in self.notifiers:
            notifier.notify(change)
