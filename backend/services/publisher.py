"""The web process's MQTT publisher: remote commands to kiosks, with a message expiry.

It has its own client identity (``fleet-web-{FLEET_PUBLISHER_NAME}-{pid}``,
so several serve workers never kick each other off) and the same broker URL
and TLS files as ingest (``FLEET_MQTT_*``). It connects on first use and stays
connected; a publish waits for the broker's PUBACK, so "sent" on the kiosk's
page means the broker has the command.
"""

from __future__ import annotations

import logging
import os
import threading

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from backend.core.config import Settings
from mqtt.client import Connection, Session, new_client

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5.0
PUBACK_TIMEOUT_S = 5.0


class PublishError(RuntimeError):
    """The broker could not be reached or did not acknowledge in time."""


class CommandPublisher:
    def __init__(self, settings: Settings) -> None:
        self.client_id = f"fleet-web-{settings.publisher_name}-{os.getpid()}"[:64]
        self.client = new_client(self.client_id)
        self.connection = Connection(
            self.client,
            settings.broker,
            session=Session(session_expiry_s=0),  # nothing is ever queued for us
            name=f"publisher[{self.client_id}]",
            tls=settings.publisher_tls,
        )
        self._lock = threading.Lock()
        self._started = False
        self._misconfigured = (
            "FLEET_MQTT_PUBLISHER_CERT_FILE and _KEY_FILE are not set: the web process needs its "
            "own broker identity (fleet.web from fleet-broker-config); ingest's would be cut off"
            if settings.mqtt_cert_file and not settings.mqtt_publisher_cert_file
            else None
        )

    def _ensure_started(self) -> None:
        with self._lock:
            if not self._started:
                self.connection.start()
                self._started = True

    def publish(self, topic: str, payload: bytes, *, expiry_s: int) -> None:
        """QoS 1 with the MQTT 5 Message Expiry Interval; raises PublishError."""
        if self._misconfigured:
            raise PublishError(self._misconfigured)
        self._ensure_started()
        if not self.connection.wait_connected(CONNECT_TIMEOUT_S):
            raise PublishError(f"the broker {self.connection.url} is not reachable")
        props = Properties(PacketTypes.PUBLISH)
        props.MessageExpiryInterval = max(1, int(expiry_s))
        info = self.client.publish(topic, payload, qos=1, properties=props)
        try:
            info.wait_for_publish(timeout=PUBACK_TIMEOUT_S)
        except (RuntimeError, ValueError) as err:
            raise PublishError(f"the broker did not take the command: {err}") from err
        if not info.is_published():
            raise PublishError("the broker did not acknowledge the command in time")

    def close(self) -> None:
        if self._started:
            self.connection.stop()
