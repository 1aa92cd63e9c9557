"""A network receipt printer on a loopback port, for tests and a technician's laptop.

It listens like a real printer's raw port (9100), records each job and
answers ``DLE EOT n`` and ``GS r n`` from a ``VirtualPrinter``, so the real
python-escpos ``Network`` transport and the real driver run against it
unchanged. It decodes what it received the way the printer would print it:
text in Chinese mode from GB18030, QR payloads from the ``GS ( k`` store
command, cuts. Usage::

    with PrinterEmulator(paper="low") as emulator:
        printer = printer_from_config(emulator.config)   # "network:127.0.0.1:<port>"
        printer.print_document(document)
        (receipt,) = emulator.wait_for_receipts(1)
        receipt.lines, receipt.qr_codes, receipt.cuts, emulator.as_text()
        emulator.paper = "out"; emulator.cover_open = True; emulator.answer_status = False

Or from a shell: ``python -m devices.printer.emulator --port 9100`` prints
each received job as text on stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import socket
import socketserver
import sys
import threading
from collections.abc import Callable
from typing import Self

from .status import PaperLevel
from .stream import PrintedJob, decode
from .virtual import VirtualPrinter

logger = logging.getLogger(__name__)


class _Connection(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        emulator = self.server.emulator
        sock: socket.socket = self.request
        emulator._track(sock, add=True)
        start = len(emulator.virtual.printed)
        try:
            while True:
                try:
                    data = sock.recv(4096)
                except OSError:
                    break
                if not data:
                    break
                reply = emulator.virtual.receive(data)
                if reply:
                    sock.sendall(reply)
        finally:
            emulator._track(sock, add=False)
            job = emulator.virtual.printed[start:]
            if job:
                emulator._job_done(job)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    emulator: PrinterEmulator


class PrinterEmulator:
    """A TCP ESC/POS printer on ``host:port`` (port 0 picks a free one)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        paper: PaperLevel = "ok",
        columns: int = 32,
        on_job: Callable[[bytes], None] | None = None,
    ) -> None:
        self.virtual = VirtualPrinter(paper=paper, columns=columns)
        self.jobs: list[bytes] = []
        self._address = (host, port)
        self._on_job = on_job
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._job_arrived = threading.Condition(self._lock)

    # --- life cycle -----------------------------------------------------------------------
    def start(self) -> Self:
        server = _Server(self._address, _Connection)
        server.emulator = self
        self._server = server
        self._address = server.server_address[:2]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"printer-emulator:{self.port}", daemon=True,
        )  # fmt: skip
        self._thread.start()
        logger.info("printer emulator listening on %s:%d", *self._address)
        return self

    def stop(self) -> None:
        """Stop listening and drop open connections, like switching the printer off."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            for sock in list(self._open):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        logger.info("printer emulator on port %d stopped", self.port)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what a test reads or changes -----------------------------------------------------
    @property
    def host(self) -> str:
        return str(self._address[0])

    @property
    def port(self) -> int:
        return int(self._address[1])

    @property
    def config(self) -> str:
        """The printer configuration string that reaches this emulator."""
        return f"network:{self.host}:{self.port}"

    @property
    def paper(self) -> PaperLevel:
        return self.virtual.paper

    @paper.setter
    def paper(self, level: PaperLevel) -> None:
        """Paper "ok", "low" (near-end sensor) or "out" (the printer goes offline)."""
        self.virtual.paper = level

    @property
    def cover_open(self) -> bool:
        return self.virtual.cover_open

    @cover_open.setter
    def cover_open(self, value: bool) -> None:
        """True opens the cover: the printer goes offline and says why."""
        self.virtual.cover_open = value

    @property
    def answer_status(self) -> bool:
        return self.virtual.answer_status

    @answer_status.setter
    def answer_status(self, value: bool) -> None:
        """False makes a printer that never replies to status queries (old firmware)."""
        self.virtual.answer_status = value

    def as_text(self) -> str:
        return self.virtual.as_text()

    @property
    def receipts(self) -> list[PrintedJob]:
        """Every job received so far, decoded (see ``stream.decode``)."""
        with self._lock:
            return [decode(job) for job in self.jobs]

    def wait_for_receipts(self, count: int = 1, timeout: float = 5.0) -> list[PrintedJob]:
        """``wait_for_jobs``, decoded."""
        return [decode(job) for job in self.wait_for_jobs(count, timeout)]

    def wait_for_jobs(self, count: int = 1, timeout: float = 5.0) -> list[bytes]:
        """Block until ``count`` jobs have arrived (a job ends when its connection closes)."""
        with self._job_arrived:
            if not self._job_arrived.wait_for(lambda: len(self.jobs) >= count, timeout):
                raise TimeoutError(f"{len(self.jobs)} of {count} print jobs arrived")
            return list(self.jobs)

    # --- connection bookkeeping -----------------------------------------------------------
    def _track(self, sock: socket.socket, *, add: bool) -> None:
        with self._lock:
            (self._open.add if add else self._open.discard)(sock)

    def _job_done(self, job: bytes) -> None:
        with self._job_arrived:
            self.jobs.append(job)
            self._job_arrived.notify_all()
        logger.info("printer emulator: job of %d bytes", len(job))
        if self._on_job is not None:
            self._on_job(job)


def main(argv: list[str] | None = None) -> int:
    """Run the emulator until interrupted, printing each job as text."""
    parser = argparse.ArgumentParser(
        prog="python -m devices.printer.emulator",
        description="Emulate a network ESC/POS receipt printer on a TCP port.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=9100, help="TCP port (default 9100)")
    parser.add_argument("--paper", choices=["ok", "low", "out"], default="ok", help="paper level")
    parser.add_argument("--columns", type=int, default=32, help="characters per line")
    parser.add_argument("--cover-open", action="store_true", help="start with the cover open")
    parser.add_argument(
        "--no-status", action="store_true", help="never answer status queries (old firmware)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, force=True)

    def show(job: bytes) -> None:
        from .stream import as_text

        sys.stdout.write(as_text(job, columns=args.columns))
        sys.stdout.flush()

    emulator = PrinterEmulator(
        host=args.host, port=args.port, paper=args.paper, columns=args.columns, on_job=show
    )
    emulator.cover_open = args.cover_open
    emulator.answer_status = not args.no_status
    with emulator, contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
