"""Remote commands from the ops centre reach the running app through the agent's local queue."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from mqtt.agent.app_commands import AppCommandQueue
from tests.kiosk.conftest import KioskDriver


def command_state(queue: AppCommandQueue, command_id: str) -> tuple[str, str | None]:
    return queue.db.execute(
        "SELECT state, detail FROM app_commands WHERE command_id = ?", (command_id,)
    ).fetchone()


def test_lock_unlock_test_page_sync_and_unknown_commands(kiosk: KioskDriver) -> None:
    queue = AppCommandQueue(kiosk.app.settings.db_path)  # the agent's side: its own connection
    expires = datetime.now(UTC) + timedelta(minutes=5)

    queue.put("c-lock", "lock", {}, expires)
    kiosk.app.poll_commands()
    kiosk.wait_screen("out_of_service")
    kiosk.shot("locked")
    assert "终端已被运维中心暂停" in kiosk.texts()
    assert command_state(queue, "c-lock")[0] == "done"
    kiosk.app.sim_action("card", "genuine")
    kiosk.pump(0.5)
    assert kiosk.screen == "out_of_service", "a locked kiosk takes no citizen"
    kiosk.app.sim_action("remove")

    queue.put("c-unlock", "unlock", {}, expires)
    kiosk.app.poll_commands()
    kiosk.wait_screen("attract")
    assert command_state(queue, "c-unlock")[0] == "done"

    jobs = len(kiosk.emulator.receipts)
    queue.put("c-page", "print_test_page", {}, expires)
    kiosk.app.poll_commands()
    assert kiosk.until(lambda: command_state(queue, "c-page")[0] == "done", 10)
    assert "打印机测试页" in kiosk.emulator.wait_for_receipts(jobs + 1, 5)[-1].lines[0]
    printed = [
        json.loads(e.body)
        for e in kiosk.app.outbox.next_batch(10_000)
        if e.kind == "receipt.printed"
    ]
    assert printed[-1] == {"document": "test_page", "outcome": "printed"}

    queue.put("c-sync", "sync_catalog", {}, expires)  # no backend: it fails, and says why
    kiosk.app.poll_commands()
    assert kiosk.until(lambda: command_state(queue, "c-sync")[0] == "failed", 10)
    assert command_state(queue, "c-sync")[1] == "backend unreachable"

    queue.put("c-what", "format_disk", {}, expires)
    kiosk.app.poll_commands()
    assert command_state(queue, "c-what") == ("failed", "unknown app command 'format_disk'")

    queue.put("c-old", "lock", {}, datetime.now(UTC) - timedelta(seconds=1))
    kiosk.app.poll_commands()
    assert command_state(queue, "c-old")[0] == "expired" and kiosk.screen == "attract"
