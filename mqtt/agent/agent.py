"""The agent's work: drain the outbox, confirm end to end, report health, run commands.

Threads: the ``Connection`` thread does all network I/O and only queues what
arrives (acks, commands); the thread that calls ``run`` owns the SQLite file
and does everything else. So the outbox is touched from one thread only.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import paho.mqtt.client as paho
from pydantic import ValidationError

from mqtt.agent.app_commands import AppCommandQueue
from mqtt.agent.commands import APP_COMMANDS, CommandRunner, Outcome
from mqtt.agent.config import AgentSettings
from mqtt.agent.health import HealthCollector, app_version
from mqtt.client import Connection, Session, new_client
from mqtt.contract import Channel, ContractError, decode, encode, make_envelope, topic
from mqtt.contract.envelope import utc_now
from mqtt.contract.messages import Command, CommandResult, EventsAck, StatusBody
from mqtt.device_health import DeviceHealthStore
from mqtt.outbox import Outbox, open_kiosk_db
from mqtt.systemd_notify import Watchdog

logger = logging.getLogger(__name__)

PUBLISH_CHUNK = 500  # events read from SQLite per query
IDLE_POLL_S = 0.1  # how often an idle agent looks for new events put by the kiosk UI
RESEND_LOG_EVERY_S = 10.0  # resends are summed into one log line at most this often


@dataclass
class Counters:
    published: int = 0
    resent: int = 0
    confirmed: int = 0
    health_sent: int = 0
    commands: int = 0


class Agent:
    def __init__(self, settings: AgentSettings) -> None:
        self.settings = settings
        self.kiosk_id = settings.id
        db = open_kiosk_db(settings.db_path)
        self.outbox = Outbox(db)
        self.health = HealthCollector(self.outbox, DeviceHealthStore(db), settings.data_dir)
        self.commands = CommandRunner()
        self.commands.register("collect_diagnostics", self._diagnostics)
        # Commands only the kiosk app can carry out go through a queue in the kiosk's file.
        self.app_commands = AppCommandQueue(db)
        self._app_commands_pruned_at = float("-inf")
        self.counters = Counters()

        # id -> (seq, last sent): kept in the order of last sending, so the overdue are first
        self._inflight: OrderedDict[str, tuple[int, float]] = OrderedDict()
        self._cursor = 0  # highest seq published since start
        self._acks: deque[list[str]] = deque()
        self._commands: deque[tuple[Any, Command]] = deque()
        self._wake = threading.Event()
        self._subscribed = threading.Event()
        self._resend_all = False
        self._resent_unlogged = 0
        self._resend_logged_at = float("-inf")
        self._connected_at: datetime = utc_now()

        self._topic_events = topic(self.kiosk_id, Channel.EVENTS)
        self._topic_status = topic(self.kiosk_id, Channel.STATUS)
        self._topic_health = topic(self.kiosk_id, Channel.HEALTH)
        self._topic_cmd_ack = topic(self.kiosk_id, Channel.COMMANDS_ACK)
        self._subscriptions = [
            (topic(self.kiosk_id, Channel.EVENTS_ACK), 1),
            (topic(self.kiosk_id, Channel.COMMANDS), 1),
        ]

        self.client = new_client(f"kiosk-{self.kiosk_id}")
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.connection = Connection(
            self.client,
            settings.broker,
            session=Session(
                keepalive_s=settings.keepalive_s, session_expiry_s=settings.session_expiry_s
            ),
            on_connected=self._on_connected,
            on_lost=self._on_lost,
            before_connect=self._set_will,
            name=f"kiosk-agent[{self.kiosk_id}]",
            tls=settings.tls,
        )

    # network thread ----------------------------------------------------------------------------
    def _status(self, state: str) -> bytes:
        body = StatusBody(state=state, connected_at=self._connected_at, app_version=app_version())
        return encode(make_envelope(self.kiosk_id, "status", body))

    def _set_will(self) -> None:
        self._connected_at = utc_now()
        self.client.will_set(self._topic_status, self._status("offline"), qos=1, retain=True)

    def _on_connected(self, session_present: bool) -> None:
        self.client.publish(self._topic_status, self._status("online"), qos=1, retain=True)
        self.client.subscribe(self._subscriptions)
        if not session_present:
            # The broker lost our session (or never had it): whatever it held
            # for us may be gone, so everything unconfirmed goes out again.
            self._resend_all = True
        self._wake.set()

    def _on_lost(self) -> None:
        self._subscribed.clear()

    def _on_subscribe(self, client: Any, userdata: Any, mid: int, reasons: Any, props: Any) -> None:
        if any(r.is_failure for r in reasons):
            logger.error("subscription refused by the broker: %s", reasons)
            self.health.last_error = f"subscription refused: {reasons}"
            return
        logger.info("subscribed to acknowledgements and commands")
        self._subscribed.set()
        self._wake.set()

    def _on_message(self, client: Any, userdata: Any, message: paho.MQTTMessage) -> None:
        try:
            decoded = decode(message.topic, message.payload)
        except ContractError as err:
            logger.warning("ignoring a bad message on %s: %s", message.topic, err.reason)
            return
        if isinstance(decoded.body, EventsAck):
            self._acks.append([str(i) for i in decoded.body.ids])
        elif isinstance(decoded.body, Command):
            self._commands.append((decoded.id, decoded.body))
        self._wake.set()

    # main thread -------------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        logger.info(
            "kiosk-agent %s starting: broker %s, outbox %s, %d waiting",
            self.kiosk_id,
            self.settings.broker,
            self.settings.db_path,
            self.outbox.stats().depth,
        )
        self.connection.start()
        next_health = 0.0
        # READY once the loop runs (not once the broker answers: a kiosk offline is still up);
        # the watchdog is pinged by each pass of this loop, so a hung loop gets restarted.
        watchdog = Watchdog()
        watchdog.ready(f"kiosk-agent {self.kiosk_id}")
        try:
            while not stop.is_set():
                watchdog.ping()
                self._apply_acks()
                self._run_commands()
                busy = False
                if self.connection.connected.is_set() and self._subscribed.is_set():
                    now = time.monotonic()
                    self._report_app_commands()
                    self._resend_overdue(now)
                    busy = self._publish_new(now)
                    if now >= next_health:
                        self._publish_health()
                        next_health = now + self.settings.health_interval_s
                if not busy:
                    self._wake.wait(IDLE_POLL_S)
                    self._wake.clear()
        finally:
            self._shutdown()

    def _apply_acks(self) -> None:
        ids: list[str] = []
        while self._acks:
            ids.extend(self._acks.popleft())
        if not ids:
            return
        self.outbox.ack(ids)
        for event_id in ids:
            if self._inflight.pop(event_id, None) is not None:
                self.counters.confirmed += 1

    def _publish_new(self, now: float) -> bool:
        """Publish events not yet sent, within the window; True if more may be waiting."""
        room = self.settings.window - len(self._inflight)
        if room <= 0:
            return False
        batch = self.outbox.next_batch(min(room, PUBLISH_CHUNK), after_seq=self._cursor)
        for event in batch:
            self.client.publish(self._topic_events, event.payload(self.kiosk_id), qos=1)
            self._inflight[event.id] = (event.seq, now)
            self._cursor = event.seq
        self.counters.published += len(batch)
        return len(batch) == min(room, PUBLISH_CHUNK) and len(batch) > 0

    def _resend_overdue(self, now: float) -> None:
        timeout = self.settings.ack_timeout_s
        if self._resend_all:
            overdue = list(self._inflight)
            self._resend_all = False
        else:
            overdue = []
            for event_id, (_, sent) in self._inflight.items():
                if now - sent < timeout:
                    break  # the rest were sent later
                overdue.append(event_id)
        if not overdue:
            return
        seqs = [self._inflight[i][0] for i in overdue]
        still_waiting = self.outbox.get(seqs)
        waiting_ids = {e.id for e in still_waiting}
        for event_id in overdue:
            if event_id not in waiting_ids:  # acknowledged meanwhile
                self._inflight.pop(event_id, None)
        for event in still_waiting:
            self.client.publish(self._topic_events, event.payload(self.kiosk_id), qos=1)
            self._inflight[event.id] = (event.seq, now)
            self._inflight.move_to_end(event.id)
        if still_waiting:
            self.counters.resent += len(still_waiting)
            self._resent_unlogged += len(still_waiting)
            if now - self._resend_logged_at >= RESEND_LOG_EVERY_S:
                logger.info(
                    "resent %d events unconfirmed after %.0f s (oldest now seq %d)",
                    self._resent_unlogged,
                    timeout,
                    still_waiting[0].seq,
                )
                self._resent_unlogged = 0
                self._resend_logged_at = now

    def _publish_health(self) -> None:
        envelope = make_envelope(self.kiosk_id, "health", self.health.snapshot())
        self.client.publish(self._topic_health, encode(envelope), qos=1)
        self.counters.health_sent += 1

    def _run_commands(self) -> None:
        while self._commands:
            command_id, command = self._commands.popleft()
            if command.name in APP_COMMANDS and command.expires_at > utc_now():
                # The app carries it out; its result is reported when the app completes it.
                if self.app_commands.put(
                    str(command_id), command.name, command.args, command.expires_at
                ):
                    logger.info(
                        "command %s (%s) queued for the kiosk app", command.name, command_id
                    )
                continue
            result = self.commands.run(command_id, command)
            logger.info("command %s (%s): %s", command.name, command_id, result.outcome)
            envelope = make_envelope(self.kiosk_id, "command.result", result)
            self.client.publish(self._topic_cmd_ack, encode(envelope), qos=1)
            self.counters.commands += 1

    def _report_app_commands(self) -> None:
        """Send the result of every command the app finished (or that expired) once."""
        self.app_commands.expire_overdue(taken_timeout_s=self.settings.app_command_timeout_s)
        finished = self.app_commands.unreported()
        for cmd in finished:
            try:
                result = CommandResult(
                    command_id=cmd.command_id,
                    outcome=cmd.state,
                    detail=cmd.detail,
                    data=cmd.data or {},
                )
            except ValidationError as err:  # a row no command of ours made: never wedge on it
                logger.warning("not reporting app command %r: %s", cmd.command_id, err)
                continue
            logger.info("command %s (%s): %s", cmd.name, cmd.command_id, cmd.state)
            envelope = make_envelope(self.kiosk_id, "command.result", result)
            self.client.publish(self._topic_cmd_ack, encode(envelope), qos=1)
            self.counters.commands += 1
        if finished:
            self.app_commands.mark_reported([c.command_id for c in finished])
        if time.monotonic() - self._app_commands_pruned_at > 3600:
            self._app_commands_pruned_at = time.monotonic()
            self.app_commands.prune()  # reported long ago: the backend has them

    def _diagnostics(self, args: dict[str, Any]) -> Outcome:
        stats = self.outbox.stats()
        return Outcome(
            data={
                "app_version": app_version(),
                "broker": str(self.settings.broker),
                "outbox_depth": stats.depth,
                "outbox_oldest_age_s": stats.oldest_age_s,
                "inflight": len(self._inflight),
                "counters": vars(self.counters).copy(),
                "last_error": self.health.last_error,
            }
        )

    def _shutdown(self) -> None:
        if self.connection.connected.is_set():
            info = self.client.publish(
                self._topic_status, self._status("offline"), qos=1, retain=True
            )
            try:
                info.wait_for_publish(timeout=2.0)
            except (RuntimeError, ValueError):
                logger.warning("could not say offline before stopping")
        self.connection.stop()
        self._apply_acks()
        self.outbox.db.close()
        logger.info("kiosk-agent %s stopped: %s", self.kiosk_id, self.counters)
