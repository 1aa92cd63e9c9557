"""A virtual card for pcscd's vpcd reader (vsmartcard-vpcd): real PC/SC, no chip.

Why: tests and technicians' training run the whole real stack (pcscd, the
PC/SC library, pyscard, our backend) against demo cards, including the ones
that are hard to come by on purpose: clones, expired cards, blank cards and a
card pulled out in the middle of a read.

The vpcd protocol (vsmartcard's ``vpcd.c``): pcscd's vpcd driver listens on a
TCP port (35963 by default, ``DEVICENAME /dev/null:0x8C7B``); the virtual card
connects to it, and that connection is the card being in the reader. Every
message in both directions is a 2-byte big-endian length followed by that
many bytes. From the reader, a 1-byte message is a control: 00 power off,
01 power on, 02 reset (none answered), 04 get ATR (answered with the ATR);
anything longer is a command APDU, answered with the response APDU. Closing
the connection is pulling the card out.

    python -m devices.card.virtual_card genuine      # until Ctrl-C
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable

from devices.card.applet import Applet
from devices.card.application import INS_READ_BINARY, INS_SELECT, PHOTO_FID
from devices.card.demo import DemoCard, make_demo_card

logger = logging.getLogger(__name__)

VPCD_PORT = 35963
CTRL_OFF = 0x00
CTRL_ON = 0x01
CTRL_RESET = 0x02
CTRL_ATR = 0x04

_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)

PullOut = Callable[[bytes], bool]  # sees each command APDU; True: pull the card out instead


class PullOutDuringPhotoRead:
    """Pull the card out after ``after_chunks`` READ BINARY commands on the photo file."""

    def __init__(self, after_chunks: int = 3) -> None:
        self.after_chunks = after_chunks
        self._in_photo = False
        self._chunks = 0

    def __call__(self, apdu: bytes) -> bool:
        if len(apdu) >= 4 and apdu[1] == INS_SELECT and apdu[2] in (0x00, 0x02):
            self._in_photo = apdu[5:7] == PHOTO_FID.to_bytes(2, "big")
        elif len(apdu) >= 4 and apdu[1] == INS_READ_BINARY and self._in_photo:
            self._chunks += 1
            return self._chunks > self.after_chunks
        return False


class VirtualCard:
    """One virtual card: ``insert()`` connects to vpcd, ``remove()`` disconnects."""

    def __init__(
        self,
        applet: Applet,
        *,
        host: str = "127.0.0.1",
        port: int = VPCD_PORT,
        pull_out: PullOut | None = None,
    ) -> None:
        self.applet = applet
        self.host = host
        self.port = port
        self._pull_out = pull_out
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self.pulled_out = threading.Event()
        self.apdus_seen = 0

    @property
    def inserted(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def insert(self, timeout: float = 10.0) -> None:
        """Connect to vpcd, retrying while pcscd is still starting; then serve in a thread."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                sock = socket.create_connection((self.host, self.port), timeout=1.0)
                break
            except OSError as err:
                if time.monotonic() >= deadline:
                    raise ConnectionError(
                        f"vpcd not reachable on {self.host}:{self.port}: {err}"
                    ) from err
                time.sleep(0.05)
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        self.pulled_out.clear()
        self.applet.reset()
        self._thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
        self._thread.start()
        logger.info("virtual card inserted (vpcd %s:%d)", self.host, self.port)

    def remove(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            _close(sock)
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        logger.info("virtual card removed")

    def _serve(self, sock: socket.socket) -> None:
        try:
            while (message := _receive(sock)) is not None:
                if len(message) == 1:
                    self._control(sock, message[0])
                    continue
                self.apdus_seen += 1
                if self._pull_out is not None and self._pull_out(message):
                    logger.info("virtual card pulled out mid-command")
                    self.pulled_out.set()
                    break
                _send(sock, self.applet.process(message))
        except OSError as err:
            logger.debug("virtual card connection ended: %s", err)
        finally:
            _close(sock)

    def _control(self, sock: socket.socket, code: int) -> None:
        if code == CTRL_ATR:
            _send(sock, self.applet.atr)
        elif code in (CTRL_ON, CTRL_RESET, CTRL_OFF):
            self.applet.reset()
        else:
            logger.warning("unknown vpcd control byte %#04x", code)


def _receive(sock: socket.socket) -> bytes | None:
    header = _receive_exactly(sock, 2)
    if header is None:
        return None
    return _receive_exactly(sock, int.from_bytes(header, "big"))


def _receive_exactly(sock: socket.socket, size: int) -> bytes | None:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
        _ack_now(sock)
    return bytes(data)


def _ack_now(sock: socket.socket) -> None:
    """vpcd writes without TCP_NODELAY, so each of its messages waits for our delayed ACK:
    about 40 ms a command, seconds for a photo. Acknowledging at once (Linux's
    TCP_QUICKACK, which does not stick, hence after every read) makes it 0.1 ms."""
    if _QUICKACK is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)


def _send(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(len(payload).to_bytes(2, "big") + payload)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devices.card.virtual_card",
        description="Present a demo card to pcscd's vpcd virtual reader until Ctrl-C.",
    )
    parser.add_argument("kind", choices=[k.value for k in DemoCard], help="which demo card")
    parser.add_argument("--host", default="127.0.0.1", help="where vpcd listens")
    parser.add_argument("--port", type=int, default=VPCD_PORT, help="vpcd's port")
    parser.add_argument(
        "--pull-out-after",
        type=int,
        metavar="N",
        help="pull the card out after N photo chunks (a card removed mid-read)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    pull_out = PullOutDuringPhotoRead(args.pull_out_after) if args.pull_out_after else None
    card = VirtualCard(make_demo_card(args.kind), host=args.host, port=args.port, pull_out=pull_out)
    try:
        card.insert()
        while card.inserted:
            time.sleep(0.2)
    except ConnectionError as err:
        parser.error(str(err))
    except KeyboardInterrupt:
        pass
    finally:
        card.remove()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
