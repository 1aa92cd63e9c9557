"""Receipt numbers made on the kiosk: never twice, across restarts and across kiosks."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from kiosk.receipts import ReceiptNumbers
from mqtt.outbox import open_kiosk_db

DAY = datetime(2026, 11, 23, 9, 30)


def test_numbers_survive_a_restart_and_restart_each_day(tmp_path: Path) -> None:
    first = ReceiptNumbers(open_kiosk_db(tmp_path / "kiosk.db"), "hall-a-01")
    assert [first.next(DAY) for _ in range(2)] == [
        "HALL-A-01-20261123-0001",
        "HALL-A-01-20261123-0002",
    ]
    first.db.close()
    again = ReceiptNumbers(open_kiosk_db(tmp_path / "kiosk.db"), "hall-a-01")
    assert again.next(DAY) == "HALL-A-01-20261123-0003"
    assert again.next(datetime(2026, 11, 24, 8, 0)) == "HALL-A-01-20261124-0001"


def test_two_kiosks_never_share_a_number(tmp_path: Path) -> None:
    a = ReceiptNumbers(open_kiosk_db(tmp_path / "a.db"), "hall-a-01")
    b = ReceiptNumbers(open_kiosk_db(tmp_path / "b.db"), "hall-a-02")
    numbers = {a.next(DAY) for _ in range(50)} | {b.next(DAY) for _ in range(50)}
    assert len(numbers) == 100


def test_long_kiosk_ids_still_fit_the_contract(tmp_path: Path) -> None:
    long_id = "k" + "x" * 62
    number = ReceiptNumbers(open_kiosk_db(tmp_path / "k.db"), long_id).next(DAY)
    other = ReceiptNumbers(open_kiosk_db(tmp_path / "l.db"), long_id[:-1] + "y").next(DAY)
    assert len(number) <= 64 and number != other
