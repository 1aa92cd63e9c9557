"""The paho-mqtt plumbing that the kiosk agent and the backend's ingest share.

Both sides use MQTT 5 with a stable client id and a persistent session (clean
start off, a session expiry): a client that reconnects finds what was queued
for it, and a session nobody returns to expires instead of lingering.

``Connection`` owns the client's network thread. It reconnects with
exponential backoff and full jitter (so a fleet that lost its broker does not
come back in lockstep), and logs "lost" once and "back" once rather than on
every failed attempt. Other threads may publish at any time; the network
thread does the writing.
"""

from __future__ import annotations

import gc
import logging
import random
import ssl
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

logger = logging.getLogger(__name__)

SESSION_EXPIRY_S = 24 * 3600
SWITCH_INTERVAL_S = 0.0005
GC_THRESHOLD = 50_000


@dataclass(frozen=True)
class BrokerUrl:
    """``mqtt://host:port`` (plain TCP) or ``mqtts://host:port`` (TLS)."""

    host: str
    port: int
    tls: bool

    @classmethod
    def parse(cls, url: str) -> BrokerUrl:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts"):
            raise ValueError(f"broker URL {url!r} must start with mqtt:// or mqtts://")
        if not parts.hostname:
            raise ValueError(f"broker URL {url!r} has no host")
        try:
            port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
        except ValueError as err:
            raise ValueError(f"broker URL {url!r} has a bad port") from err
        return cls(host=parts.hostname, port=port, tls=parts.scheme == "mqtts")

    def __str__(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


@dataclass(frozen=True)
class TlsFiles:
    """What an ``mqtts://`` connection trusts and proves itself with.

    ``ca_file``: the CA that signed the broker's certificate (the fleet CA);
    without it the system's trust store is used. ``cert_file``/``key_file``:
    this client's certificate and key, which a broker with
    ``require_certificate`` demands (the kiosk's device certificate, ingest's
    service certificate). The broker's host name or IP is checked against its
    certificate, and nothing older than TLS 1.2 is spoken.
    """

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None

    def __post_init__(self) -> None:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("a client certificate needs its key, and a key its certificate")

    def context(self) -> ssl.SSLContext:
        """The SSL context; raises ``ValueError`` naming the file that cannot be loaded."""
        try:
            ctx = ssl.create_default_context(
                cafile=str(self.ca_file) if self.ca_file is not None else None
            )
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            if self.cert_file is not None and self.key_file is not None:
                ctx.load_cert_chain(str(self.cert_file), str(self.key_file))
        except (OSError, ssl.SSLError) as err:
            raise ValueError(f"cannot load the TLS files {self}: {err}") from err
        return ctx


def tune_for_message_throughput() -> None:
    """Process-wide settings for a program that moves thousands of messages a second.

    The network thread releases the GIL at every socket call; with the default 5 ms
    switch interval a busy worker thread (ingest's batch writes, the agent's outbox)
    then keeps it waiting that long each time (the "convoy effect"), throttling I/O.
    And every message allocates a few short-lived dicts: collecting the youngest
    generation every 700 allocations costs more than it frees.
    """
    sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_S))
    threshold = gc.get_threshold()
    gc.set_threshold(max(threshold[0], GC_THRESHOLD), *threshold[1:])


def backoff_delay(attempt: int, base: float = 0.5, cap: float = 30.0) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
    return random.uniform(0, min(cap, base * (2 ** min(attempt, 16))))


def new_client(client_id: str, *, manual_ack: bool = False) -> paho.Client:
    client = paho.Client(
        callback_api_version=paho.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=paho.MQTTv5,
        manual_ack=manual_ack,
    )
    # Unbounded local queue: the outbox, not paho, bounds what is in flight.
    client.max_queued_messages_set(0)
    return client


@dataclass
class Session:
    """What a client asks of the broker when it connects."""

    keepalive_s: int = 30
    session_expiry_s: int = SESSION_EXPIRY_S
    receive_maximum: int | None = None

    def properties(self) -> Properties:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.session_expiry_s
        if self.receive_maximum:
            props.ReceiveMaximum = self.receive_maximum
        return props


class Connection:
    """Keeps one paho client connected, on a thread of its own."""

    def __init__(
        self,
        client: paho.Client,
        url: BrokerUrl,
        *,
        session: Session | None = None,
        on_connected: Callable[[bool], None] | None = None,
        on_lost: Callable[[], None] | None = None,
        before_connect: Callable[[], None] | None = None,
        name: str = "mqtt",
        max_backoff_s: float = 30.0,
        tls: TlsFiles | None = None,
    ) -> None:
        self.client = client
        self.url = url
        self.session = session or Session()
        self.name = name
        self.max_backoff_s = max_backoff_s
        self.connected = threading.Event()
        self.generation = 0  # counts successful connections; a mid is only valid in its own
        self._on_connected = on_connected
        self._on_lost = on_lost
        self._before_connect = before_connect
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._reported_down = False
        self._attempt = 0
        client.on_connect = self._handle_connect
        client.on_disconnect = self._handle_disconnect
        # With a write-callback registered, publish() from other threads only queues
        # the packet and wakes our select(); this thread alone writes to the socket.
        client.on_socket_register_write = _ignore
        client.on_socket_unregister_write = _ignore
        if url.tls:
            client.tls_set_context((tls or TlsFiles()).context())

    # lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"{self.name}-net", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        try:
            self.client.disconnect()
        except Exception:
            logger.debug("disconnect on stop failed", exc_info=True)
        if self._thread is not None:
            self._thread.join(timeout)

    def wait_connected(self, timeout: float) -> bool:
        return self.connected.wait(timeout)

    # network thread ----------------------------------------------------------------------------
    def _run(self) -> None:
        first = True
        while not self._stop.is_set():
            try:
                if self._before_connect is not None:
                    self._before_connect()
                if first:
                    self.client.connect(
                        self.url.host,
                        self.url.port,
                        keepalive=self.session.keepalive_s,
                        clean_start=False,
                        properties=self.session.properties(),
                    )
                    first = False
                else:
                    self.client.reconnect()
            except (OSError, paho.WebsocketConnectionError) as err:
                self._report_down(f"cannot connect: {err}")
                self._sleep_backoff()
                continue
            rc = paho.MQTT_ERR_SUCCESS
            while rc == paho.MQTT_ERR_SUCCESS and not self._stop.is_set():
                rc = self.client.loop(timeout=0.2)
            if self._stop.is_set():
                # Flush what stop() queued (the DISCONNECT) before leaving.
                for _ in range(10):
                    if self.client.loop(timeout=0.05) != paho.MQTT_ERR_SUCCESS:
                        break
                break
            self._mark_lost(f"connection ended: {paho.error_string(rc)}")
            self._sleep_backoff()

    def _sleep_backoff(self) -> None:
        delay = backoff_delay(self._attempt, cap=self.max_backoff_s)
        self._attempt += 1
        self._stop.wait(max(delay, 0.05))

    # callbacks (network thread) ----------------------------------------------------------------
    def _handle_connect(
        self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        if reason.is_failure:
            self._report_down(f"broker refused the connection: {reason}")
            return
        self._attempt = 0
        self.generation += 1
        self.connected.set()
        if self._reported_down:
            logger.info("%s: connection to %s is back", self.name, self.url)
            self._reported_down = False
        else:
            logger.info("%s: connected to %s", self.name, self.url)
        if self._on_connected is not None:
            self._on_connected(bool(flags.session_present))

    def _handle_disconnect(
        self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        self._mark_lost(f"disconnected: {reason}")

    def _mark_lost(self, why: str) -> None:
        was_connected = self.connected.is_set()
        self.connected.clear()
        if was_connected:
            if not self._stop.is_set():
                self._report_down(why)
            if self._on_lost is not None:
                self._on_lost()

    def _report_down(self, why: str) -> None:
        if not self._reported_down:
            logger.warning(
                "%s: connection to %s lost (%s); retrying with backoff", self.name, self.url, why
            )
            self._reported_down = True


def _ignore(*_args: Any) -> None:
    return None
