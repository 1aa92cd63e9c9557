"""Benchmark of the kiosk app under Xvfb with the simulators (``make bench-kiosk``).

Each run is a fresh process (a cold start, as after a reboot or a crash):

- ``cold_start_s``: from the process's spawn to the attract screen drawn
  (imports, Kivy window, .kv files, kiosk database, catalog); target <= 5 s;
- ``card_to_home_s``: from the simulated card's insertion to the home screen
  drawn: the card read and authenticated, the card photo enrolled, one face
  attempt with the simulated camera (the holder blinking; frames as fast as
  the verifier reads them, no camera frame rate), the session events written;
  target <= 3 s. Measured once the face models have loaded (they load in the
  background while the attract screen waits for the first citizen).

The last line reads ``cold_start_s=<median> card_to_home_s=<median>``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def child(spawned_at: float, workdir: Path) -> None:
    from kiosk.settings import KioskAppSettings

    settings = KioskAppSettings(
        data_dir=workdir / "data", width=720, height=1280, mqtt_url="mqtt://127.0.0.1:1"
    ).simulated()
    from kiosk.app import prepare_kivy

    prepare_kivy(settings, workdir / "kivy-home")
    from kivy.base import EventLoop

    from kiosk.app.app import KioskApp

    app = KioskApp(settings)
    app._run_prepare()

    def pump_until(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            EventLoop.idle()
            if predicate():
                return True
        return False

    assert pump_until(app.first_frame.is_set, 30), "no first frame"
    assert app.journey.screen.value == "attract"
    EventLoop.idle()  # the frame with the attract screen is drawn
    cold = time.time() - spawned_at
    assert pump_until(app.hardware._ready.is_set, 60), "face models did not load"
    pump_until(lambda: False, 0.3)
    inserted = time.monotonic()
    app.sim_action("card", "genuine")
    assert pump_until(lambda: app.journey.screen.value == "home", 30), app.journey.screen
    EventLoop.idle()
    to_home = time.monotonic() - inserted
    print(json.dumps({"cold_start_s": cold, "card_to_home_s": to_home}), flush=True)
    app.stop()


def start_xvfb() -> tuple[subprocess.Popen[bytes], str]:
    read_end, write_end = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_end), "-screen", "0", "720x1280x24", "-nolisten", "tcp"],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        number = pipe.readline().strip()
    if not number:
        proc.kill()
        raise SystemExit("bench-kiosk: Xvfb did not start")
    return proc, f":{number}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh processes to measure (median)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--spawned-at", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.spawned_at, args.workdir)
        return 0

    xvfb, display = start_xvfb()
    colds, homes = [], []
    try:
        for run in range(args.runs):
            with tempfile.TemporaryDirectory(prefix="bench-kiosk-") as tmp:
                env = {**os.environ, "DISPLAY": display, "KIVY_NO_ARGS": "1"}
                spawned = time.time()
                result = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--child",
                        "--spawned-at",
                        str(spawned),
                        "--workdir",
                        tmp,
                    ],
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=180,
                    cwd=REPO,
                )
                lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
                if result.returncode != 0 or not lines:
                    print(result.stderr[-3000:], file=sys.stderr)
                    raise SystemExit(f"bench-kiosk: run {run + 1} failed")
                sample = json.loads(lines[-1])
                colds.append(sample["cold_start_s"])
                homes.append(sample["card_to_home_s"])
                print(
                    f"run {run + 1}: cold start {sample['cold_start_s']:.2f} s, "
                    f"card to home {sample['card_to_home_s']:.2f} s",
                    flush=True,
                )
    finally:
        xvfb.terminate()
        xvfb.wait(10)
    cold, home = statistics.median(colds), statistics.median(homes)
    print(f"cold start: median {cold:.2f} s (target <= 5 s: {'met' if cold <= 5 else 'NOT met'})")
    print(f"card to home: median {home:.2f} s (target <= 3 s: {'met' if home <= 3 else 'NOT met'})")
    print(f"cold_start_s={cold:.2f} card_to_home_s={home:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
