"""``python -m devices``: a technician's commands for the kiosk's devices.

    python -m devices selftest [--sim]
    python -m devices face-verify --card-photo FILE --frame FILE [--frame FILE ...]
                                  [--skip-liveness]

A thin layer over ``devices.selftest`` and ``devices.face``: it turns their
results and errors into a table, a JSON object and exit codes (0 ok, 1 a
self-test failed, 2 bad input). Logs go to stderr.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import sys
import unicodedata
from collections.abc import Iterator, Sequence

from devices.errors import DeviceError

logger = logging.getLogger(__name__)

DEVICE_LABELS = {
    "card": "读卡器 card reader",
    "camera": "摄像头 camera",
    "face": "人脸引擎 face engine",
    "printer": "打印机 printer",
}
HEADERS = ("设备 device", "结果 result", "详情 detail", "耗时 time (ms)")


def _width(text: str) -> int:
    """Display width: a hanzi takes two columns of a terminal."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def format_table(rows: Sequence[Sequence[str]]) -> str:
    table = [HEADERS, *rows]
    widths = [max(_width(row[i]) for row in table) for i in range(len(HEADERS))]
    lines = ["  ".join(_pad(cell, w) for cell, w in zip(row, widths, strict=True)) for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def cmd_selftest(args: argparse.Namespace) -> int:
    from devices.selftest import SelftestConfig, run_selftest

    checks = run_selftest(SelftestConfig.from_env(sim=args.sim))
    rows = [
        (
            DEVICE_LABELS.get(c.device, c.device),
            "ok" if c.ok else "fail",
            c.detail,
            f"{c.elapsed_ms:.0f}",
        )
        for c in checks
    ]
    print(format_table(rows))
    failed = [c.device for c in checks if not c.ok]
    print(
        f"selftest: {len(checks) - len(failed)} of {len(checks)} ok"
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


def cmd_face_verify(args: argparse.Namespace) -> int:
    from devices.face.factory import make_diagnostic_verifier
    from devices.face.sim import read_image

    try:
        card_photo = read_image(args.card_photo)
        frames = [read_image(path) for path in args.frame]
    except DeviceError as err:
        print(f"face-verify: {err}", file=sys.stderr)
        return 2
    verifier = make_diagnostic_verifier(skip_liveness=args.skip_liveness)
    try:
        reference = verifier.enrol(card_photo)
    except DeviceError as err:
        print(f"face-verify: card photo {args.card_photo}: {err}", file=sys.stderr)
        return 2
    del card_photo

    def camera() -> Iterator:
        # The frames replayed like the looping simulator camera, as long as the verifier reads.
        yield from itertools.cycle(frames)

    try:
        result = verifier.verify(reference, camera())
    finally:
        reference.clear()
    s = verifier.settings
    print(
        json.dumps(
            {
                "decision": result.decision.value,
                "distance": None if result.distance is None else round(result.distance, 4),
                "threshold": s.threshold,
                "liveness": result.liveness.value,
                "elapsed_s": round(result.elapsed_ms / 1000.0, 3),
                "frames_seen": result.frames_seen,
                "compared_frames": result.compared_frames,
                "matched_frames": result.matched_frames,
                "required_frames": result.required_frames,
                "detail": result.detail,
            },
            ensure_ascii=False,
        )
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m devices",
        description="Self-test and diagnose the kiosk's devices (card reader, camera, face "
        "engine, printer).",
    )
    parser.add_argument("--log-level", default="WARNING", help="DEBUG, INFO, WARNING (default)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    selftest = commands.add_parser(
        "selftest",
        help="test every device and print a table; exit 1 if any fails",
        description="Test the card reader, camera, face engine and printer; print one row per "
        "device (result ok/fail, detail, time in ms); exit 1 if any fails. Real devices come "
        "from KIOSK_CARD_READER (pcsc|sim), KIOSK_CARD_ISSUER_PUBLIC_KEY (hex), KIOSK_CARD_READER_NAME, "
        "KIOSK_CAMERA (0, /dev/video0, a URL, folder:PATH, video:PATH) and KIOSK_PRINTER "
        "(usb:VID:PID, serial:DEV[:BAUD], network:HOST[:PORT], sim).",
    )
    selftest.add_argument(
        "--sim",
        action="store_true",
        help="use the simulators: demo card, KIOSK_CAMERA or the card demo photo, sim printer",
    )
    selftest.set_defaults(run=cmd_selftest)

    verify = commands.add_parser(
        "face-verify",
        help="verify frames against a card photo; print one JSON object",
        description="Run the kiosk's face verification on image files: the frames are replayed "
        "in a loop like the simulator camera, as long as the verifier reads. Prints one JSON "
        "object (decision, distance, elapsed_s, ...). Nothing is written anywhere. Exit 2 for an "
        "unreadable file or a card photo without a face.",
    )
    verify.add_argument("--card-photo", required=True, help="the card's photo (an image file)")
    verify.add_argument(
        "--frame",
        required=True,
        action="append",
        help="a camera frame (image file); repeat for a sequence",
    )
    verify.add_argument(
        "--skip-liveness",
        action="store_true",
        help="diagnostics only: no blink check (still photos can then match)",
    )
    verify.set_defaults(run=cmd_face_verify)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,  # python-escpos configures the root logger on import
    )
    return args.run(args)
