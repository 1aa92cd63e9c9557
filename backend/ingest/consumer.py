"""The MQTT side of ingest.

One persistent MQTT 5 session per ingest process (client id
``fleet-ingest-{name}``, clean start off), subscribed with a shared
subscription so several processes split the load. Messages are acknowledged
to the broker by hand, only after their batch is committed: a crash before
the commit leaves them with the broker, which delivers them again. After the
commit each kiosk is told which of its events are stored (``events/ack``).

A packet id is only meaningful on the connection it arrived on, so a message
received before a reconnect is not acknowledged after it; the broker
redelivers it and ingest stores it once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import paho.mqtt.client as paho
from sqlalchemy.exc import SQLAlchemyError

from backend.core.config import Settings
from backend.core.db import make_engine, make_sessionmaker
from backend.ingest.pipeline import (
    BatchResult,
    DatabaseUnavailable,
    Policy,
    Raw,
    prune_retained,
    store_batch,
)
from backend.models.base import utcnow
from backend.services import health as health_service
from mqtt.client import Connection, Session, backoff_delay, new_client
from mqtt.contract import Channel, encode, make_envelope, shared_subscription, topic
from mqtt.contract.messages import MAX_ACK_IDS
from mqtt.systemd_notify import Watchdog

logger = logging.getLogger(__name__)

HOUSEKEEPING_EVERY_S = 3600.0  # prune old health history, log throughput
UPSTREAM_CHANNELS = (Channel.EVENTS, Channel.HEALTH, Channel.STATUS, Channel.COMMANDS_ACK)


@dataclass(frozen=True)
class Received:
    raw: Raw
    mid: int
    qos: int
    generation: int


@dataclass
class IngestCounters:
    messages: int = 0
    batches: int = 0
    stored_events: int = 0
    duplicate_events: int = 0
    dead_letters: int = 0
    db_retries: int = 0


class Ingest:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.sessions = make_sessionmaker(make_engine(settings.database_url))
        self.counters = IngestCounters()
        self.policy = Policy.from_settings(settings)
        self._queue: deque[Received] = deque()
        self._wake = threading.Event()
        self.client = new_client(f"fleet-ingest-{settings.ingest_name}", manual_ack=True)
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.subscribed = threading.Event()
        self.watchdog = Watchdog()  # pinged by the batch loop's progress (systemd WatchdogSec=)
        self.connection = Connection(
            self.client,
            settings.broker,
            # Up to a few batches in flight from the broker, unacknowledged until committed.
            session=Session(
                session_expiry_s=settings.ingest_session_expiry_s,
                receive_maximum=min(65535, settings.ingest_batch_size * 4),
            ),
            on_connected=self._on_connected,
            name=f"ingest[{settings.ingest_name}]",
            tls=settings.tls,
        )

    # network thread ----------------------------------------------------------------------------
    def _on_connected(self, session_present: bool) -> None:
        group = self.settings.ingest_group
        self.client.subscribe([(shared_subscription(group, ch), 1) for ch in UPSTREAM_CHANNELS])

    def _on_subscribe(self, client: Any, userdata: Any, mid: int, reasons: Any, props: Any) -> None:
        if any(r.is_failure for r in reasons):
            logger.error("the broker refused ingest's subscriptions: %s", reasons)
            return
        logger.info(
            "ingest %s subscribed (group %s)", self.settings.ingest_name, self.settings.ingest_group
        )
        self.subscribed.set()

    def _on_message(self, client: Any, userdata: Any, message: paho.MQTTMessage) -> None:
        self._queue.append(
            Received(
                Raw(message.topic, message.payload, bool(message.retain)),
                message.mid,
                message.qos,
                self.connection.generation,
            )
        )
        if len(self._queue) >= self.settings.ingest_batch_size:
            self._wake.set()

    # main thread -------------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        logger.info(
            "ingest %s starting: broker %s, group %s",
            self.settings.ingest_name,
            self.settings.broker,
            self.settings.ingest_group,
        )
        self.connection.start()
        window = self.settings.ingest_batch_ms / 1000
        next_housekeeping = time.monotonic() + 60  # first run soon after start
        self.watchdog.ready(f"ingest {self.settings.ingest_name}")
        try:
            while not stop.is_set():
                self.watchdog.ping()
                self._wake.wait(window)
                self._wake.clear()
                while self._queue and not stop.is_set():
                    self._process(self._take(), stop)
                if time.monotonic() >= next_housekeeping:
                    self.housekeeping()
                    next_housekeeping = time.monotonic() + HOUSEKEEPING_EVERY_S
        finally:
            self.connection.stop()
            logger.info("ingest %s stopped: %s", self.settings.ingest_name, self.counters)

    def housekeeping(self) -> None:
        """Prune health history past retention; log what ingest has done so far."""
        cutoff = utcnow() - timedelta(days=self.settings.health_retention_days)
        try:
            with self.sessions.begin() as session:
                pruned = health_service.prune(session, before=cutoff)
                prune_retained(session, utcnow())
        except SQLAlchemyError as err:
            logger.warning("could not prune health history: %s", err)
            return
        logger.info(
            "ingest %s: %s; pruned %d old health snapshots",
            self.settings.ingest_name,
            self.counters,
            pruned,
        )

    def _take(self) -> list[Received]:
        batch = []
        while self._queue and len(batch) < self.settings.ingest_batch_size:
            batch.append(self._queue.popleft())
        return batch

    def _process(self, batch: list[Received], stop: threading.Event) -> None:
        attempt = 0
        while True:
            try:
                result = store_batch(self.sessions, [r.raw for r in batch], policy=self.policy)
                break
            except DatabaseUnavailable as err:
                # Nothing is acknowledged, so nothing is lost; wait and try again.
                self.counters.db_retries += 1
                if attempt == 0:
                    logger.warning("database unavailable (%s); retrying the batch", err)
                attempt += 1
                self.watchdog.ping()  # waiting out a database outage is progress, not a hang
                if stop.wait(backoff_delay(attempt, base=0.2, cap=10.0)):
                    return
        self._acknowledge(batch, result)

    def _acknowledge(self, batch: list[Received], result: BatchResult) -> None:
        generation = self.connection.generation
        for received in batch:
            if received.qos > 0 and received.generation == generation:
                self.client.ack(received.mid, received.qos)
        for kiosk_id, ids in result.confirmations.items():
            for i in range(0, len(ids), MAX_ACK_IDS):
                envelope = make_envelope(kiosk_id, "events.ack", {"ids": ids[i : i + MAX_ACK_IDS]})
                self.client.publish(topic(kiosk_id, Channel.EVENTS_ACK), encode(envelope), qos=1)
        c = self.counters
        c.messages += len(batch)
        c.batches += 1
        c.stored_events += result.stored_events
        c.duplicate_events += result.duplicate_events
        c.dead_letters += result.dead_letters
        if result.dead_letters:
            logger.warning("%d invalid messages kept as dead letters", result.dead_letters)
