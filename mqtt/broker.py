"""Run a local Mosquitto for the demo, the tests and the benchmarks.

Listens on loopback only, on a port given or a free one; by default plain TCP
and anonymous, which suits a single machine. A deployment's broker (TLS,
certificates, ACLs) is configured by ``provisioning.broker``; tests start such
a configuration here by passing its text as ``config_text`` (and ``tls=True``
so that ``url`` says ``mqtts://``).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

DEFAULT_MAX_QUEUED = 100_000  # per client session; Mosquitto's default of 1000 is low for a backlog


class BrokerError(RuntimeError):
    pass


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class LocalBroker:
    def __init__(
        self,
        workdir: Path,
        port: int | None = None,
        *,
        persistence: bool = False,
        max_queued_messages: int = DEFAULT_MAX_QUEUED,
        config_text: str | None = None,
        tls: bool = False,
    ) -> None:
        self.workdir = Path(workdir)
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.persistence = persistence
        self.max_queued_messages = max_queued_messages
        self.config_text = config_text
        self.tls = tls
        self.process: subprocess.Popen[bytes] | None = None
        self.executable = shutil.which("mosquitto") or "/usr/sbin/mosquitto"

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "mosquitto.log"

    def config(self) -> str:
        if self.config_text is not None:
            # A complete configuration from the caller; it must listen on self.port.
            extra = "user root\n" if os.geteuid() == 0 else ""
            return self.config_text.rstrip("\n") + "\n" + extra
        lines = [
            f"listener {self.port} {self.host}",
            "allow_anonymous true",
            f"persistence {'true' if self.persistence else 'false'}",
            f"persistence_location {self.workdir}/",
            f"max_queued_messages {self.max_queued_messages}",
            "max_inflight_messages 100",
            "set_tcp_nodelay true",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_dest stderr",
        ]
        if os.geteuid() == 0:
            lines.append("user root")  # keep access to our own work folder
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 10.0) -> LocalBroker:
        if not Path(self.executable).exists():
            raise BrokerError("mosquitto is not installed; run `make setup`")
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(self.config())
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child process
        self.process = subprocess.Popen(
            [self.executable, "-c", str(conf)], stdout=log, stderr=log, stdin=subprocess.DEVNULL
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BrokerError(f"mosquitto exited at start; see {self.log_path}")
            if port_open(self.host, self.port):
                return self
            time.sleep(0.05)
        self.stop()
        raise BrokerError(f"mosquitto did not listen on {self.port} within {timeout}s")

    def kill(self) -> None:
        """SIGKILL: the broker dies without saving anything."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(5)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def reload(self) -> None:
        """SIGHUP: Mosquitto re-reads its configuration, ACL and TLS files (CRL included, 2.0.11)."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGHUP)

    def restart(self) -> None:
        self.kill()
        self.start()

    def __enter__(self) -> LocalBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
