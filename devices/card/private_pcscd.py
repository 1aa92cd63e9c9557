"""A private pcscd with the vpcd virtual reader: for tests, the benchmark and training.

The daemon runs in its own mount namespace with a temporary directory bound
over /run/pcscd, and the calling process finds it through PCSCLITE_CSOCK_NAME
(``use_private_pcscd``, before the first PC/SC call: libpcsclite reads it once
per process); so a system pcscd (socket-activated on kiosks) is neither used
nor disturbed. vpcd gets free ports; ``VirtualCard(..., port=daemon.vpcd_port)``
inserts a card. Needs root and ``unshare`` for isolation, the Debian packages
pcscd and vsmartcard-vpcd.

    daemon = start_private_pcscd(Path(tmp))   # with the vpcd reader
    ...
    daemon.stop()
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
READY_TIMEOUT = 10.0


def free_port_pair() -> int:
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
        self.vpcd_port = free_port_pair()
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


def find_pcscd() -> str | None:
    return shutil.which("pcscd") or shutil.which("pcscd", path="/usr/sbin:/sbin")


def can_isolate() -> bool:
    """Whether a pcscd can run in a private mount namespace (root and unshare)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "true"], capture_output=True
    )
    return probe.returncode == 0


def start_private_pcscd(root: Path) -> PcscdDaemon:
    """An isolated pcscd with vpcd as its only reader, and this process pointed at it.

    Raises RuntimeError when pcscd, the vpcd driver or isolation is missing.
    """
    pcscd = find_pcscd()
    if pcscd is None:
        raise RuntimeError("pcscd is not installed (Debian package pcscd)")
    if not VPCD_DRIVER.exists():
        raise RuntimeError(f"vpcd driver missing at {VPCD_DRIVER} (package vsmartcard-vpcd)")
    if not can_isolate():
        raise RuntimeError("a private pcscd needs root and unshare")
    daemon = PcscdDaemon(root, pcscd, isolated=True)
    os.environ["PCSCLITE_CSOCK_NAME"] = str(daemon.socket_path)
    daemon.start(with_vpcd=True)
    return daemon
