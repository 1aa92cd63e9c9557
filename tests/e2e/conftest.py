"""Helpers for the end-to-end tests: real broker, real ingest and agent processes."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright
from sqlalchemy import Engine, text

from mqtt.outbox import Outbox
from tests.conftest import Processes, wait_for

N = 10_000
KIOSK = "kiosk-e2e-01"


def kiosk_outbox(fleet: Processes, kiosk_id: str) -> Outbox:
    return Outbox.open(Path(fleet.workdir) / "kiosks" / kiosk_id / "kiosk.db")


def put_events(outbox: Outbox, count: int) -> list[str]:
    """Put ``count`` events in one transaction (fast); their ids in put order."""
    ids = []
    with outbox.db.atomic():
        for i in range(count):
            ids.append(
                outbox.put(
                    "device.fault", {"device": "printer", "code": f"c{i}"}, id=uuid.uuid4()
                ).id
            )
    return ids


def stored(engine: Engine, kiosk_id: str | None = None) -> int:
    sql = "SELECT count(*) FROM events" + (" WHERE kiosk_id = :k" if kiosk_id else "")
    with engine.connect() as conn:
        return conn.execute(text(sql), {"k": kiosk_id}).scalar_one()


def stored_ids_by_seq(engine: Engine, kiosk_id: str) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id FROM events WHERE kiosk_id = :k ORDER BY seq"), {"k": kiosk_id}
        )
        return [r[0] for r in rows]


def start_ingest(fleet: Processes, name: str = "ingest-1", **env: str) -> None:
    fleet.ingest(name, **env)
    assert wait_for(lambda: "subscribed" in fleet.log(name), 20), fleet.log(name)


def start_agent(fleet: Processes, kiosk_id: str, **env: str) -> None:
    fleet.agent(kiosk_id, **env)
    name = f"agent-{kiosk_id}"
    assert wait_for(lambda: "subscribed" in fleet.log(name), 20), fleet.log(name)


def push_and_break(
    fleet: Processes,
    fleet_db: Engine,
    break_it: Callable[[], None],
    *,
    ingests: tuple[str, ...] = ("ingest-1",),
) -> None:
    """Push N events through, call ``break_it`` a quarter of the way, expect every event once."""
    outbox = kiosk_outbox(fleet, KIOSK)
    ids = put_events(outbox, N)
    for name in ingests:
        start_ingest(fleet, name)
    start_agent(fleet, KIOSK)
    assert wait_for(lambda: stored(fleet_db) >= N // 4, 60), "the stream never got going"
    break_it()
    assert wait_for(lambda: stored(fleet_db) == N and outbox.stats().depth == 0, 180), (
        f"stored {stored(fleet_db)} of {N}; outbox still holds {outbox.stats().depth}"
    )
    assert stored(fleet_db) == N  # none lost, none duplicated (the id is the key)
    assert stored_ids_by_seq(fleet_db, KIOSK) == ids  # the kiosk's order is kept


CHROMIUM_ARGS = [  # Debian's chromium, headless, on a machine whose network is closed
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's chromium driven by Playwright (never ``playwright install``: no downloads)."""
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
