"""The MQTT wire contract, version 1 (the README's "The event pipeline"; schemas in mqtt/schemas).

Topics are built and parsed in ``topics``; every message is an ``Envelope``
(``envelope``) whose ``body`` is one of the models of ``messages``, chosen by
``kind``. ``codec.decode`` turns bytes from the wire into a validated
``Message`` or raises ``ContractError`` with a reason fit for a dead-letter row;
``codec.encode`` does the reverse and refuses what the other side would refuse.
"""

from mqtt.contract.codec import Message, decode, encode, make_envelope
from mqtt.contract.envelope import MAX_MESSAGE_BYTES, VERSION, Envelope
from mqtt.contract.errors import ContractError
from mqtt.contract.topics import KIOSK_ID_PATTERN, Channel, parse_topic, shared_subscription, topic

__all__ = [
    "KIOSK_ID_PATTERN",
    "MAX_MESSAGE_BYTES",
    "VERSION",
    "Channel",
    "ContractError",
    "Envelope",
    "Message",
    "decode",
    "encode",
    "make_envelope",
    "parse_topic",
    "shared_subscription",
    "topic",
]
