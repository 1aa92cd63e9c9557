"""`make bench-devices`: how long the kiosk's devices take, on this machine.

1. Face verification per attempt, pinned to one CPU core: what the kiosk does
   for one attempt (detection, landmarks and blink liveness on every frame read,
   then the k-of-n encodings) on 640 x 480 frames: the card demo photo enrolled
   once (as read from the card), the live frames a blink of obama.jpg (another
   photo of the same person, from tests/data/faces) drawn on the
   portrait and placed in a 640 x 480 frame. Median and p95 over --attempts.
2. Card read through a private pcscd with the vpcd virtual reader and the demo
   genuine card (devices.card.private_pcscd; needs root, pcscd, vsmartcard-vpcd):
   connect, read, challenge-response, checks. Median over --card-reads.
3. Receipt encoding: an application receipt rendered to ESC/POS bytes (GB18030
   text, QR code, cut). Median over 1000 renders.

The last line reads
``face_median_s=<x> face_p95_s=<y> card_read_s=<z> receipt_encode_s=<w>``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

FACES = REPO / "tests" / "data" / "faces"
FACE_TARGET_S = 0.5


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def bench_face(attempts: int) -> tuple[float, float]:
    from devices.card.demo import PHOTO_PATH
    from devices.face import Decision, make_face_verifier
    from devices.face.sim import blink_sequence, read_image

    verifier = make_face_verifier()  # the product's defaults, liveness included
    started = time.perf_counter()
    reference = verifier.enrol(read_image(PHOTO_PATH))
    enrol_s = time.perf_counter() - started
    frames = blink_sequence(read_image(FACES / "obama.jpg"), size=(640, 480))
    verifier.verify(reference, frames)  # warm-up: first-call allocations in dlib
    times = []
    for _ in range(attempts):
        result = verifier.verify(reference, frames)
        if result.decision is not Decision.MATCH:
            raise SystemExit(f"bench-devices: the genuine attempt gave {result.decision.value}")
        times.append(result.elapsed_ms / 1000.0)
    median = statistics.median(times)
    print(
        f"face: {attempts} attempts at {frames[0].shape[1]}x{frames[0].shape[0]}, "
        f"{result.frames_seen} frames read and {result.compared_frames} encoded per attempt, "
        f"distance {result.distance:.3f}: median {median:.3f} s, p95 {p95(times):.3f} s, "
        f"min {min(times):.3f} s (enrolment of the card photo {enrol_s:.3f} s, once per session)"
    )
    verdict = "met" if median <= FACE_TARGET_S else "NOT met"
    print(f"face: target median <= {FACE_TARGET_S} s on one core: {verdict}")
    reference.clear()
    return median, p95(times)


def bench_card(reads: int) -> float:
    from devices.card.auth import IssuerPublicKey
    from devices.card.demo import make_demo_card
    from devices.card.private_pcscd import start_private_pcscd
    from devices.card.virtual_card import VirtualCard

    with tempfile.TemporaryDirectory(prefix="bench-pcscd-") as root:
        daemon = start_private_pcscd(Path(root))  # before the first PC/SC call
        try:
            from devices.card.pcsc import PcscCardReader

            card = VirtualCard(make_demo_card("genuine"), port=daemon.vpcd_port)
            card.insert()
            reader = PcscCardReader(IssuerPublicKey.demo())
            reader.start()
            try:
                if not reader.wait_for_card(10):
                    raise SystemExit("bench-devices: the virtual card never appeared")
                reader.read_identity()  # warm-up
                times = []
                for _ in range(reads):
                    started = time.perf_counter()
                    reader.read_identity()
                    times.append(time.perf_counter() - started)
            finally:
                reader.stop()
                card.remove()
        finally:
            daemon.stop()
    median = statistics.median(times)
    print(
        f"card: {reads} reads of the demo card (vpcd, private pcscd): median {median:.3f} s, "
        f"max {max(times):.3f} s"
    )
    return median


def bench_receipt(renders: int = 1000) -> float:
    from devices.printer import application_receipt, render

    receipt = application_receipt(
        receipt_no="SL20250101000123",
        service="居住证签注",
        applicant="张三",
        submitted_at=datetime(2025, 1, 1, 9, 30),
        verify_url="https://zwfw.example.gov.cn/q/SL20250101000123",
        office="西城区政务服务中心",
    )
    times = []
    for _ in range(renders):
        started = time.perf_counter()
        job = render(receipt, columns=32)
        times.append(time.perf_counter() - started)
    median = statistics.median(times)
    print(f"receipt: {renders} renders to ESC/POS ({len(job)} bytes): median {median * 1e6:.0f} us")
    return median


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=30, help="face attempts (at least 20)")
    parser.add_argument("--card-reads", type=int, default=20, help="card reads")
    args = parser.parse_args()
    if args.attempts < 20:
        parser.error("--attempts must be at least 20")
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, threads included
    face_median, face_p95 = bench_face(args.attempts)
    card = bench_card(args.card_reads)
    receipt = bench_receipt()
    print(
        f"face_median_s={face_median:.3f} face_p95_s={face_p95:.3f} "
        f"card_read_s={card:.4f} receipt_encode_s={receipt:.6f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
