from __future__ import annotations

import pytest

from mqtt.contract import Channel, ContractError, parse_topic, shared_subscription, topic


@pytest.mark.parametrize("channel", list(Channel))
def test_topics_round_trip(channel: Channel) -> None:
    assert parse_topic(topic("kiosk-0042", channel)) == ("kiosk-0042", channel)


@pytest.mark.parametrize("kiosk_id", ["ab", "-abc", "ABC", "a" * 65, "a/b", "a+b", ""])
def test_invalid_kiosk_ids_are_refused(kiosk_id: str) -> None:
    with pytest.raises(ContractError):
        topic(kiosk_id, Channel.EVENTS)


def test_shared_subscription_covers_every_kiosk() -> None:
    assert shared_subscription("ingest", Channel.EVENTS) == "$share/ingest/kiosk/+/events"


def test_direction_of_each_channel() -> None:
    assert {c for c in Channel if c.from_kiosk} == {
        Channel.STATUS,
        Channel.HEALTH,
        Channel.EVENTS,
        Channel.COMMANDS_ACK,
    }
