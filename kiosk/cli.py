"""``kiosk``: the touch-screen app a citizen meets; ``kiosk --sim`` with simulated devices.

With ``--sim`` a person plays the citizen with the panel at the bottom of the
window or the keys F1 (insert the genuine demo card), F2 (an expired card),
F3 (a cloned card), F4 (take the card out), F5 (present the card holder's
face), F6 (another person's face), F7 (nobody), F8 (printer paper out / in).
Settings come from ``KIOSK_*`` variables (``kiosk/settings.py``).
"""

from __future__ import annotations

import argparse
import logging
import sys

from kiosk.settings import KioskAppSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="kiosk",
        description="政务服务自助终端 touch-screen app. Settings from KIOSK_* variables.",
        epilog="With --sim: F1 insert card, F2 expired card, F3 cloned card, F4 remove card, "
        "F5 holder's face, F6 another face, F7 nobody, F8 printer paper out/in.",
    )
    parser.add_argument(
        "--sim", action="store_true", help="simulated card reader, camera and printer"
    )
    parser.add_argument(
        "--size", help="window size WIDTHxHEIGHT (default KIOSK_WIDTH x KIOSK_HEIGHT)"
    )
    parser.add_argument("--idle-timeout", type=float, help="seconds before an idle session ends")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = KioskAppSettings()
    except ValueError as err:
        print(f"kiosk: bad settings: {err}", file=sys.stderr)
        return 2
    update: dict[str, object] = {}
    if args.size:
        try:
            width, height = (int(v) for v in args.size.lower().split("x"))
        except ValueError:
            parser.error("--size must be WIDTHxHEIGHT, e.g. 1080x1920")
        update.update(width=width, height=height)
    if args.idle_timeout:
        update["idle_timeout_s"] = args.idle_timeout
    settings = settings.model_copy(update=update)
    if args.sim:
        settings = settings.simulated()
    if not settings.font.is_file():
        print(f"kiosk: font {settings.font} missing (install fonts-wqy-microhei)", file=sys.stderr)
        return 2

    from kiosk.app import prepare_kivy

    prepare_kivy(settings)
    from kiosk.app.app import KioskApp

    KioskApp(settings).run()
    return 0
