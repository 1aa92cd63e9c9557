"""The checkpoint worker: a thread of ``fleet-backend serve`` that anchors the audit log.

Every ``FLEET_AUDIT_CHECKPOINT_INTERVAL_S`` (and once at start and at stop)
it checks the entries appended since the last checkpoint and, if the head
moved, appends a signed checkpoint to ``FLEET_AUDIT_CHECKPOINT_FILE`` (and
POSTs it to ``FLEET_AUDIT_CHECKPOINT_URL``). A log that does not verify is
never signed: the worker logs the findings as errors instead, once until
they change.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from backend.core.config import Settings
from backend.services import audit
from backend.services.audit_checkpoints import Checkpoint

logger = logging.getLogger(__name__)


def checkpoint_once(
    sessions: sessionmaker[Session], settings: Settings, *, force: bool = False
) -> Checkpoint | None:
    """One checkpoint now (None if nothing changed); raises what ``audit.take_checkpoint`` raises."""
    keys = audit.keys_provider(settings.ca_dir)()
    with sessions() as session:
        return audit.take_checkpoint(
            session,
            keys,
            settings.audit_checkpoint_file,
            url=settings.audit_checkpoint_url,
            force=force,
        )


class CheckpointWorker:
    def __init__(self, sessions: sessionmaker[Session], settings: Settings) -> None:
        self.sessions = sessions
        self.settings = settings
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_problem = ""

    def start(self) -> None:
        if self.settings.audit_checkpoint_interval_s <= 0:
            logger.info("audit checkpoints off (FLEET_AUDIT_CHECKPOINT_INTERVAL_S=0)")
            return
        self._thread = threading.Thread(target=self._run, name="audit-checkpoints", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
            self._once()  # anchor what this process appended last

    def _once(self) -> None:
        problem = ""
        try:
            checkpoint_once(self.sessions, self.settings)
        except audit.CheckpointRefused as err:
            problem = f"audit log does not verify, no checkpoint written: {err}"
        except (audit.AuditKeyUnavailable, SQLAlchemyError, OSError) as err:
            problem = f"audit checkpoint failed: {err}"
        if problem and problem != self._last_problem:  # log once when it starts, once when back
            logger.error("%s", problem)
        elif not problem and self._last_problem:
            logger.info("audit checkpoints written again")
        self._last_problem = problem

    def _run(self) -> None:
        logger.info(
            "audit checkpoints: every %.0f s to %s",
            self.settings.audit_checkpoint_interval_s,
            self.settings.audit_checkpoint_file,
        )
        while not self._stop.is_set():
            self._once()
            self._stop.wait(self.settings.audit_checkpoint_interval_s)
