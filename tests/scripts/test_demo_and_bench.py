"""`make demo` and `make bench-ingest` keep working: run them, short, as a newcomer would."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_demo_pushes_a_transaction_through_and_prints_the_urls() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/demo.py", "--once"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "stored all 7 events" in result.stdout
    for kind in ("session.started", "application.submitted", "rating.submitted", "session.ended"):
        assert kind in result.stdout
    assert re.search(r"Ops centre:\s+http://127\.0\.0\.1:\d+/ops/", result.stdout)
    assert re.search(r"API docs:\s+http://127\.0\.0\.1:\d+/docs", result.stdout)


def test_the_ingest_benchmark_runs_and_reports_its_ratio() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/bench_ingest.py", "--events", "2000", "--rounds", "1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    last = result.stdout.strip().splitlines()[-1]
    match = re.fullmatch(r"ratio=(\d+\.\d+) committed_per_s=(\d+) raw_per_s=(\d+)", last)
    assert match, last
    assert float(match[1]) > 0 and int(match[2]) > 0 and int(match[3]) > 0
    assert "every event committed in every round: True" in result.stdout
