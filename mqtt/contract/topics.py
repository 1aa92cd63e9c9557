"""Topic names of contract v1: ``kiosk/{id}/{channel}``.

| channel        | direction        | QoS | retained |
| status         | kiosk -> backend | 1   | yes (last will: offline) |
| health         | kiosk -> backend | 1   | no |
| events         | kiosk -> backend | 1   | no |
| events/ack     | backend -> kiosk | 1   | no |
| commands       | backend -> kiosk | 1   | no |
| commands/ack   | kiosk -> backend | 1   | no |
"""

from __future__ import annotations

import re
from enum import StrEnum

from mqtt.contract.errors import ContractError

KIOSK_ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{2,63}")
ROOT = "kiosk"


class Channel(StrEnum):
    STATUS = "status"
    HEALTH = "health"
    EVENTS = "events"
    EVENTS_ACK = "events/ack"
    COMMANDS = "commands"
    COMMANDS_ACK = "commands/ack"

    @property
    def from_kiosk(self) -> bool:
        return self in UPSTREAM


UPSTREAM = frozenset({Channel.STATUS, Channel.HEALTH, Channel.EVENTS, Channel.COMMANDS_ACK})
_BY_SUFFIX = {c.value: c for c in Channel}


def valid_kiosk_id(kiosk_id: str) -> bool:
    return KIOSK_ID_PATTERN.fullmatch(kiosk_id) is not None


def topic(kiosk_id: str, channel: Channel) -> str:
    """The topic of one kiosk's channel; refuses an invalid kiosk id."""
    if not valid_kiosk_id(kiosk_id):
        raise ContractError("bad_kiosk_id", f"invalid kiosk id {kiosk_id!r}")
    return f"{ROOT}/{kiosk_id}/{channel.value}"


def parse_topic(name: str) -> tuple[str, Channel]:
    """Split a topic into (kiosk id, channel), or raise ContractError."""
    parts = name.split("/", 2)
    if len(parts) != 3 or parts[0] != ROOT:
        raise ContractError("bad_topic", f"topic {name!r} is not kiosk/{{id}}/{{channel}}")
    kiosk_id, suffix = parts[1], parts[2]
    channel = _BY_SUFFIX.get(suffix)
    if channel is None:
        raise ContractError("bad_topic", f"unknown channel {suffix!r} in topic {name!r}")
    if not valid_kiosk_id(kiosk_id):
        raise ContractError("bad_kiosk_id", f"invalid kiosk id {kiosk_id!r} in topic")
    return kiosk_id, channel


def shared_subscription(group: str, channel: Channel) -> str:
    """An MQTT 5 shared subscription to one channel of every kiosk."""
    return f"$share/{group}/{ROOT}/+/{channel.value}"
