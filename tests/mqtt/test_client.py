from __future__ import annotations

import pytest

from mqtt.client import BrokerUrl, backoff_delay


def test_broker_urls() -> None:
    assert BrokerUrl.parse("mqtt://127.0.0.1:1884") == BrokerUrl("127.0.0.1", 1884, tls=False)
    assert BrokerUrl.parse("mqtts://broker.example") == BrokerUrl("broker.example", 8883, tls=True)
    assert str(BrokerUrl.parse("mqtt://h")) == "mqtt://h:1883"


@pytest.mark.parametrize("url", ["http://h:1", "mqtt://", "h:1883", "mqtt://h:notaport"])
def test_bad_broker_urls_say_why(url: str) -> None:
    with pytest.raises(ValueError, match="broker URL"):
        BrokerUrl.parse(url)


def test_backoff_grows_is_capped_and_jittered() -> None:
    samples = [backoff_delay(attempt, base=0.5, cap=30) for attempt in range(20) for _ in range(50)]
    assert all(0 <= s <= 30 for s in samples)
    early = [backoff_delay(0, base=0.5, cap=30) for _ in range(200)]
    late = [backoff_delay(10, base=0.5, cap=30) for _ in range(200)]
    assert max(early) <= 0.5
    assert len({round(s, 6) for s in late}) > 150  # jittered: no two kiosks in lockstep
    assert sum(late) / len(late) > 5
