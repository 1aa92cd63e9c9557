"""The alert worker: a thread of ``fleet-backend serve`` that runs the rules periodically.

Every ``FLEET_ALERT_INTERVAL_S`` it places new kiosks in their regions,
evaluates every rule, samples the fleet's online count (for the chart),
prunes expired log-in sessions, commits, and only then notifies (a webhook
never hears of an alert the database does not hold). Several serve processes
may each run one: alert de-duplication is enforced by the database.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from backend.alerts.notify import LogNotifier, Notifier, Notifiers, WebhookNotifier
from backend.core.config import Settings
from backend.models.base import utcnow
from backend.services import alerts as alerts_service
from backend.services import auth as auth_service
from backend.services import fleet as fleet_service
from backend.services import fleet_stats
from backend.services import regions as regions_service

logger = logging.getLogger(__name__)


def default_notifier(settings: Settings) -> Notifier:
    if settings.alert_webhook_url:
        return Notifiers(LogNotifier(), WebhookNotifier(settings.alert_webhook_url))
    return LogNotifier()


def run_once(
    sessions: sessionmaker[Session], settings: Settings, notifier: Notifier
) -> alerts_service.Evaluation:
    now = utcnow()
    with sessions.begin() as session:
        regions_service.sync_placements(session)
        evaluation = alerts_service.evaluate(session, settings, now=now)
        counts = fleet_service.counts(
            session, now=now, offline_after_s=settings.alert_offline_after_s, regions=None
        )
        open_alerts = sum(alerts_service.open_count(session).values())
        fleet_stats.record_sample(
            session,
            now=now,
            total=counts["total"],
            online=counts["online"],
            open_alerts=open_alerts,
        )
        auth_service.prune_sessions(session, now=now)
        fleet_stats.prune_samples(
            session, before=now - timedelta(days=settings.health_retention_days)
        )
    for change in evaluation.changes:
        notifier.notify(change)
    return evaluation


class AlertWorker:
    def __init__(
        self, sessions: sessionmaker[Session], settings: Settings, notifier: Notifier | None = None
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.notifier = notifier or default_notifier(settings)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    def start(self) -> None:
        if self.settings.alert_interval_s <= 0:
            logger.info("alert worker off (FLEET_ALERT_INTERVAL_S=0)")
            return
        self._thread = threading.Thread(target=self._run, name="alert-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        logger.info("alert worker: every %.0f s", self.settings.alert_interval_s)
        while not self._stop.is_set():
            try:
                run_once(self.sessions, self.settings, self.notifier)
                if self._failing:
                    logger.info("alert worker: database reachable again")
                    self._failing = False
            except SQLAlchemyError as err:
                if not self._failing:  # log once when lost, once when back
                    logger.warning("alert worker: evaluation failed: %s", err)
                    self._failing = True
            self._stop.wait(self.settings.alert_interval_s)
