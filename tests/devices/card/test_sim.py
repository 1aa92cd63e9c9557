"""The simulated reader (--sim): demo card kinds, events, removal mid-read, detached reader."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date

import pytest

from devices.card.auth import IssuerPublicKey, IssuerSigningKey, new_challenge, verify_card_proof
from devices.card.reader import CardEvent, CardEventKind
from devices.card.sim import SimCardReader
from devices.errors import (
    CardExpired,
    CardNotAuthentic,
    CardRemoved,
    CardUnsupported,
    DeviceUnavailable,
)


@pytest.fixture
def sim_reader() -> Iterator[SimCardReader]:
    reader = SimCardReader(today=lambda: date(2026, 1, 1))
    reader.start()
    yield reader
    reader.stop()


def test_genuine_card_reads(sim_reader: SimCardReader) -> None:
    sim_reader.insert_card("genuine")
    assert sim_reader.read_identity().masked_id_number == "110105********002X"


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("clone", CardNotAuthentic),
        ("expired", CardExpired),
        ("not-yet-valid", CardExpired),
        ("blank", CardUnsupported),
    ],
)
def test_bad_cards_fail_with_their_error(
    sim_reader: SimCardReader, kind: str, error: type[Exception]
) -> None:
    sim_reader.insert_card(kind)
    with pytest.raises(error):
        sim_reader.read_identity()


def test_events_come_from_the_simulator_thread() -> None:
    sim_reader = SimCardReader()
    seen: list[tuple[CardEvent, str]] = []
    done = threading.Event()

    def record(event: CardEvent) -> None:
        seen.append((event, threading.current_thread().name))
        if event.kind == CardEventKind.READER_DETACHED:
            done.set()

    sim_reader.subscribe(record)
    sim_reader.start()
    sim_reader.insert_card("genuine")
    sim_reader.remove_card()
    sim_reader.detach_reader()

    assert done.wait(2)
    assert [e.kind for e, _ in seen] == [
        CardEventKind.READER_ATTACHED,  # on start()
        CardEventKind.CARD_INSERTED,
        CardEventKind.CARD_REMOVED,
        CardEventKind.READER_DETACHED,
    ]
    assert {thread for _, thread in seen} == {"card-sim"}
    sim_reader.stop()


def test_card_removed_mid_read_raises_card_removed() -> None:
    reader = SimCardReader(apdu_delay=0.002)
    reader.insert_card("genuine")
    timer = threading.Timer(0.05, reader.remove_card)
    timer.start()
    with pytest.raises(CardRemoved, match="during the read"):
        reader.read_identity()
    timer.join()


def test_no_card_and_detached_reader(sim_reader: SimCardReader) -> None:
    with pytest.raises(CardRemoved):
        sim_reader.read_identity()
    sim_reader.detach_reader()
    assert sim_reader.health().state == "absent"
    with pytest.raises(DeviceUnavailable):
        sim_reader.read_identity()
    sim_reader.attach_reader()
    assert sim_reader.health().state == "ok"


def test_prove_by_the_card_read_and_only_by_it(sim_reader: SimCardReader) -> None:
    sim_reader.insert_card("genuine")
    identity = sim_reader.read_identity()
    challenge = new_challenge()
    proof = sim_reader.prove(challenge)
    verify_card_proof(
        IssuerPublicKey.demo(), proof, id_number=identity.id_number, challenge=challenge
    )
    sim_reader.insert_card("not-yet-valid")  # same holder, another card
    with pytest.raises(CardRemoved, match="another card"):
        sim_reader.prove(challenge)
    sim_reader.remove_card()
    with pytest.raises(CardRemoved):
        sim_reader.prove(challenge)


def test_a_simulator_trusting_another_issuer_refuses_demo_cards() -> None:
    reader = SimCardReader(IssuerSigningKey.generate().public_key)
    reader.insert_card("genuine")
    with pytest.raises(CardNotAuthentic, match="not signed by the issuer"):
        reader.read_identity()
