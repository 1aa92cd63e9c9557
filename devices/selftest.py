"""Each device's self-test, as a library: ``run_selftest(config)`` -> one ``Check`` per device.

What each check proves:

- card reader: ``--sim``: the simulator reads its demo genuine card end to end
  (the real application code and challenge-response); real: pcscd answers, a
  reader is present and, if a card is in, it is read and authenticated.
- camera: one frame is grabbed (``--sim``: from the folder or video source).
- face engine: the models load and the card demo photo, animated into a blink
  at 640 x 480, verifies against itself with liveness: detection, landmarks,
  liveness and encoding all run. Nothing is written to disk.
- printer: ``--sim``: the simulator prints a test page and its status is read
  back; real: the status is queried (nothing is printed).

``python -m devices selftest`` (``devices/cli.py``) prints the table. A check
never raises: a failure is ``ok=False`` with a detail in English, for a technician.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

logger = logging.getLogger(__name__)

CARD_WAIT_S = 3.0
"""How long the real reader's supervisor may take for its first polling round."""


@dataclass(frozen=True)
class SelftestConfig:
    """Which devices to test; ``from_env`` reads the kiosk's variables.

    card_reader: ``pcsc`` or ``sim`` (KIOSK_CARD_READER); issuer_public_key_hex
    (KIOSK_CARD_ISSUER_PUBLIC_KEY) is needed to authenticate a card on ``pcsc``;
    reader_name (KIOSK_CARD_READER_NAME) picks readers whose name contains it.
    camera: a ``CameraSettings.from_config`` string (KIOSK_CAMERA); None with
    ``sim`` replays the card demo photo. printer: a ``printer_from_config``
    string (KIOSK_PRINTER).
    """

    card_reader: str = "pcsc"
    issuer_public_key_hex: str | None = None
    reader_name: str | None = None
    camera: str | None = "0"
    printer: str = "usb:0416:5011"

    @classmethod
    def from_env(
        cls, *, sim: bool = False, environ: dict[str, str] | None = None
    ) -> SelftestConfig:
        env = os.environ if environ is None else environ
        if sim:
            return cls(
                card_reader="sim",
                issuer_public_key_hex=env.get("KIOSK_CARD_ISSUER_PUBLIC_KEY"),
                camera=env.get("KIOSK_CAMERA"),
                printer="sim",
            )
        return cls(
            card_reader=env.get("KIOSK_CARD_READER", "pcsc"),
            issuer_public_key_hex=env.get("KIOSK_CARD_ISSUER_PUBLIC_KEY"),
            reader_name=env.get("KIOSK_CARD_READER_NAME"),
            camera=env.get("KIOSK_CAMERA", "0"),
            printer=env.get("KIOSK_PRINTER", cls.printer),
        )


@dataclass(frozen=True)
class Check:
    device: str  # card, camera, face, printer
    ok: bool
    detail: str
    elapsed_ms: float


def _timed(device: str, test: Callable[[], str]) -> Check:
    started = time.perf_counter()
    try:
        detail, ok = test(), True
    except Exception as err:  # a self-test reports every failure, it never raises
        logger.debug("self-test of %s failed", device, exc_info=True)
        detail, ok = f"{type(err).__name__}: {err}", False
    return Check(device, ok, detail, (time.perf_counter() - started) * 1000.0)


def check_card(config: SelftestConfig) -> str:
    from devices.card import CardReaderConfig, make_card_reader
    from devices.card.sim import SimCardReader

    if config.card_reader == "sim":
        reader = make_card_reader(
            CardReaderConfig(backend="sim", issuer_public_key_hex=config.issuer_public_key_hex)
        )
        assert isinstance(reader, SimCardReader)
        reader.start()
        try:
            reader.insert_card("genuine")
            identity = reader.read_identity()
        finally:
            reader.stop()
        return f"simulator: demo card of {identity.masked_name} read and authenticated"

    if not config.issuer_public_key_hex:
        raise RuntimeError("KIOSK_CARD_ISSUER_PUBLIC_KEY is not set: cards cannot be authenticated")
    reader = make_card_reader(
        CardReaderConfig(
            backend="pcsc",
            issuer_public_key_hex=config.issuer_public_key_hex,
            reader_name=config.reader_name,
        )
    )
    reader.start()
    try:
        card_in = reader.wait_for_card(CARD_WAIT_S)
        health = reader.health()
        if health.state != "ok":
            raise RuntimeError(f"reader {health.state}: {health.detail or 'no detail'}")
        if not card_in:
            return f"pcscd and reader ok ({health.detail or 'ready'}); no card inserted"
        identity = reader.read_identity()
    finally:
        reader.stop()
    return f"card of {identity.masked_name} read and authenticated"


def _camera_config(config: SelftestConfig) -> str:
    if config.camera is not None:
        return config.camera
    from devices.card.demo import PHOTO_PATH

    return f"folder:{PHOTO_PATH.parent}"


def check_camera(config: SelftestConfig) -> str:
    from devices.face import CameraSettings, open_frame_source

    settings = CameraSettings.from_config(_camera_config(config))
    source = open_frame_source(settings)
    try:
        frame = source.read()
    finally:
        source.close()
    height, width = frame.shape[:2]
    where = settings.path if settings.kind != "opencv" else settings.device
    return f"{settings.kind} {where}: one {width}x{height} frame"


def check_face() -> str:
    from devices.card.demo import PHOTO_PATH
    from devices.face import Decision, make_face_verifier
    from devices.face.sim import blink_sequence, read_image

    verifier = make_face_verifier()
    photo = read_image(PHOTO_PATH)
    reference = verifier.enrol(photo)
    try:
        result = verifier.verify(reference, blink_sequence(photo))
    finally:
        reference.clear()
    if result.decision is not Decision.MATCH:
        raise RuntimeError(
            f"demo photo against itself gave {result.decision.value} ({result.detail or ''})"
        )
    return (
        f"models loaded; demo photo verifies against itself: distance {result.distance:.3f}, "
        f"liveness {result.liveness.value}, {result.elapsed_ms:.0f} ms"
    )


def check_printer(config: SelftestConfig) -> str:
    from devices.printer import SimulatedPrinter, printer_from_config, printer_test_page

    printer = printer_from_config(config.printer)
    if isinstance(printer, SimulatedPrinter):
        page = printer_test_page(printer="sim", printed_at=datetime.now(), columns=printer.columns)
        printer.print_document(page)
        if "打印机测试页" not in printer.as_text():
            raise RuntimeError("the test page is not on the simulated paper")
        status = printer.status()
        return f"simulator: test page printed ({len(printer.output)} bytes), paper {status.paper}"
    status = printer.status()
    health = printer.health()
    if health.state not in ("ok", "degraded"):
        raise RuntimeError(f"{config.printer}: {health.state}: {health.detail or status}")
    return f"{config.printer}: paper {status.paper}"


def run_selftest(config: SelftestConfig) -> list[Check]:
    """Every device's check, in the order a technician reads them."""
    return [
        _timed("card", lambda: check_card(config)),
        _timed("camera", lambda: check_camera(config)),
        _timed("face", check_face),
        _timed("printer", lambda: check_printer(config)),
    ]
