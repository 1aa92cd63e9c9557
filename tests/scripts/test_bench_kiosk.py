"""``make bench-kiosk``: one quick run of the real benchmark, its last line in the agreed form."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_bench_kiosk_prints_cold_start_and_card_to_home() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/bench_kiosk.py", "--runs", "1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    last = result.stdout.strip().splitlines()[-1]
    match = re.fullmatch(r"cold_start_s=(\d+\.\d+) card_to_home_s=(\d+\.\d+)", last)
    assert match, last
    cold, home = map(float, match.groups())
    assert 0 < cold < 30 and 0 < home < 30
