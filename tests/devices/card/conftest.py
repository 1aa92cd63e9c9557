"""Fixtures for the card reader: a private pcscd with the vpcd virtual reader, and demo cards.

The daemon runs in its own mount namespace with a temporary directory bound
over /run/pcscd, and this test process finds it through PCSCLITE_CSOCK_NAME;
so a system pcscd (socket-activated on kiosks) is neither used nor disturbed,
and tests can stop and start "their" pcscd at will. vpcd gets free ports.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devices.card.demo import make_demo_card
from devices.card.virtual_card import PullOut, VirtualCard

VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
READY_TIMEOUT = 10.0


def _free_port_pair() -> int:
    """vpcd opens two slots, on port and port + 1."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
            if port >= 65535:
                continue
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free pair of TCP ports")


class PcscdDaemon:
    """One private pcscd at a time, started with or without the vpcd reader."""

    def __init__(self, root: Path, pcscd: str, isolated: bool) -> None:
        self.root = root
        self.run_dir = root / "run"
        self.run_dir.mkdir()
        self.socket_path = (
            self.run_dir / "pcscd.comm" if isolated else Path("/run/pcscd/pcscd.comm")
        )
        self._pcscd = pcscd
        self._isolated = isolated
        self._process: subprocess.Popen[bytes] | None = None
        self.with_vpcd: bool | None = None
        self.vpcd_port = _free_port_pair()
        self._starts = 0

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def ensure(self, *, with_vpcd: bool) -> None:
        if not (self.running and self.with_vpcd == with_vpcd):
            self.start(with_vpcd=with_vpcd)

    def start(self, *, with_vpcd: bool) -> None:
        self.stop()
        self._starts += 1
        config = self.root / f"reader.conf.d-{self._starts}"
        config.mkdir()
        if with_vpcd:
            (config / "vpcd").write_text(
                'FRIENDLYNAME "Virtual PCD"\n'
                f"DEVICENAME   /dev/null:0x{self.vpcd_port:X}\n"
                f"LIBPATH      {VPCD_DRIVER}\n"
                f"CHANNELID    0x{self.vpcd_port:X}\n"
            )
        command = [self._pcscd, "--foreground", "--config", str(config)]
        if self._isolated:
            script = 'mkdir -p /run/pcscd && mount --bind "$0" /run/pcscd && exec "$@"'
            command = [
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                script,
                str(self.run_dir),
                *command,
            ]
        log = (self.root / f"pcscd-{self._starts}.log").open("wb")
        self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        self.with_vpcd = with_vpcd
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"pcscd exited at start; see {self.root}")
            try:
                with socket.socket(socket.AF_UNIX) as probe:
                    probe.connect(str(self.socket_path))
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"pcscd did not open {self.socket_path} within {READY_TIMEOUT} s")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        self.socket_path.unlink(missing_ok=True)


def _can_isolate() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "true"], capture_output=True
    )
    return probe.returncode == 0


@pytest.fixture(scope="session")
def pcscd_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PcscdDaemon]:
    """The controller of this session's private pcscd (not started yet)."""
    pcscd = shutil.which("pcscd") or shutil.which("pcscd", path="/usr/sbin:/sbin")
    if pcscd is None:
        pytest.skip("pcscd is not installed (Debian package pcscd)")
    if not VPCD_DRIVER.exists():
        pytest.skip(f"vpcd driver missing at {VPCD_DRIVER} (Debian package vsmartcard-vpcd)")
    isolated = _can_isolate()
    if isolated:
        root = tmp_path_factory.mktemp("pcscd")
        daemon = PcscdDaemon(root, pcscd, isolated=True)
        # libpcsclite reads this once per process, at its first call.
        previous = os.environ.get("PCSCLITE_CSOCK_NAME")
        os.environ["PCSCLITE_CSOCK_NAME"] = str(daemon.socket_path)
    else:
        if Path("/run/pcscd/pcscd.comm").exists():
            pytest.skip("cannot run a private pcscd (needs root and unshare) beside the system one")
        daemon = PcscdDaemon(tmp_path_factory.mktemp("pcscd"), pcscd, isolated=False)
        previous = os.environ.get("PCSCLITE_CSOCK_NAME")
    yield daemon
    daemon.stop()
    if previous is None:
        os.environ.pop("PCSCLITE_CSOCK_NAME", None)
    else:
        os.environ["PCSCLITE_CSOCK_NAME"] = previous


@pytest.fixture
def pcscd_with_vpcd(pcscd_daemon: PcscdDaemon) -> PcscdDaemon:
    """A running private pcscd whose only reader is vpcd."""
    pcscd_daemon.ensure(with_vpcd=True)
    return pcscd_daemon


@pytest.fixture
def insert_virtual_card(
    pcscd_with_vpcd: PcscdDaemon,
) -> Iterator[Callable[..., VirtualCard]]:
    """Inserts a demo card of a kind into the vpcd reader; every card is removed afterwards."""
    cards: list[VirtualCard] = []

    def insert(kind: str, *, pull_out: PullOut | None = None) -> VirtualCard:
        card = VirtualCard(make_demo_card(kind), port=pcscd_with_vpcd.vpcd_port, pull_out=pull_out)
        card.insert()
        cards.append(card)
        return card

    yield insert
    for card in cards:
        card.remove()
