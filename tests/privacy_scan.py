"""The suite's privacy scanner: no full identity number may be left in anything the tests wrote.

At the end of every pytest session (``pytest_sessionfinish`` in
tests/conftest.py) ``scan`` reads every file the session wrote (modified
since it started) under the known output folders: ``test-artifacts/``
(screenshots, receipts, the session's log ``test-artifacts/logs/pytest.log``,
the PostgreSQL dump written when the throwaway cluster stops), ``var/``, and
pytest's temporary folders (SQLite files, kiosk outboxes, process logs, the
MQTT capture of ``MqttTap``). Text and binary files are searched as UTF-8;
bytea written as ``\\x...`` hex in a dump is decoded first; images are read
by OCR (rapidocr-onnxruntime, whose ONNX models ship inside its wheel: no
download). A finding is an 18-character identity number with a valid check
digit and birth date (``backend.core.privacy.is_full_identity_number``, the
same rule as ``stdnum.cn.ric``'s checksum); the session fails and names the
file with a masked excerpt. ``PRIVACY_SCAN=0`` turns the scan off,
``PRIVACY_SCAN_OCR=0`` only its OCR.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from backend.core.privacy import find_personal_numbers, mask_personal_data

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"
LOG_FILE = ARTIFACTS / "logs" / "pytest.log"
REPORT = ARTIFACTS / "privacy-scan.txt"
IMAGES = {".png", ".jpg", ".jpeg"}
SKIP_DIRS = {".venv", "node_modules", "__pycache__", ".git", "lock-venv"}
MAX_BYTES = 256 * 1024 * 1024
_HEX_BYTEA = re.compile(rb"\\\\?x((?:[0-9a-f]{2}){8,})")
_DIGITS = re.compile(r"[0-9０-９]")


@dataclass(frozen=True)
class Finding:
    path: Path
    excerpt: str  # masked

    def __str__(self) -> str:
        return f"{self.path}: …{self.excerpt}…"


def find_in_text(text: str) -> list[str]:
    """Masked excerpts around each full identity number (valid check digit) in ``text``."""
    if not _DIGITS.search(text):
        return []
    excerpts = []
    for found in find_personal_numbers(text):
        if found.kind == "ric":
            around = text[max(0, found.start - 24) : found.end + 24]
            excerpts.append(mask_personal_data(around).replace("\n", " "))
    return excerpts


def _texts_of(data: bytes) -> Iterator[str]:
    yield data.decode("utf-8", errors="replace")
    for match in _HEX_BYTEA.finditer(data):  # bytea in a PostgreSQL dump
        yield bytes.fromhex(match.group(1).decode()).decode("utf-8", errors="replace")


@lru_cache(maxsize=1)
def _ocr() -> Any:
    from rapidocr_onnxruntime import RapidOCR

    return RapidOCR()


def ocr_text(path: Path) -> str:
    """The text of an image, one line per text box (rapidocr, offline); "" for a file that
    is not a readable image (tests write broken ones on purpose: nothing to read in them)."""
    try:
        result, _ = _ocr()(str(path))
    except ImportError:
        raise
    except Exception:  # rapidocr's LoadImageError and the like: not an image
        return ""
    return "\n".join(box[1] for box in result or [])


def scan_file(path: Path, *, ocr: bool = True) -> list[Finding]:
    if path.suffix.lower() in IMAGES:
        if not ocr:
            return []
        return [Finding(path, e) for e in find_in_text(ocr_text(path))]
    try:
        if path.stat().st_size > MAX_BYTES:
            return []
        data = path.read_bytes()
    except OSError:  # a socket, a file removed meanwhile, no permission
        return []
    return [Finding(path, e) for text in _texts_of(data) for e in find_in_text(text)]


def files_under(roots: Iterable[Path], since: float | None = None) -> Iterator[Path]:
    """Regular files under ``roots`` (modified at or after ``since``), each once."""
    seen: set[Path] = set()
    for root in roots:
        if root.is_file():
            candidates: Iterable[Path] = [root]
        elif root.is_dir():
            candidates = _walk(root)
        else:
            continue
        for path in candidates:
            real = path.resolve()
            if real in seen:
                continue
            seen.add(real)
            try:
                if since is not None and path.stat().st_mtime < since:
                    continue
            except OSError:
                continue
            yield path


def _walk(root: Path) -> Iterator[Path]:
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        for name in files:
            path = Path(folder) / name
            if path.is_file() and not path.is_symlink():
                yield path


def scan(roots: Iterable[Path], since: float | None = None, *, ocr: bool = True) -> list[Finding]:
    findings: list[Finding] = []
    for path in files_under(roots, since):
        if path == REPORT:
            continue
        findings.extend(scan_file(path, ocr=ocr))
    return findings


def report(findings: list[Finding], scanned_roots: list[Path]) -> str:
    roots = ", ".join(str(r) for r in scanned_roots)
    if not findings:
        return f"privacy scan: no full identity number in what the tests wrote ({roots})\n"
    lines = [
        f"privacy scan: {len(findings)} full identity number(s) with a valid check digit "
        f"in what the tests wrote ({roots}):"
    ]
    lines += [f"  {f}" for f in findings[:200]]
    return "\n".join(lines) + "\n"


class MqttTap:
    """Every message published on a broker, appended to ``path`` as ``topic<TAB>payload`` lines."""

    def __init__(self, host: str, port: int, path: Path) -> None:
        import paho.mqtt.client as paho

        self.path = path
        self._lock = threading.Lock()
        self._file = open(path, "ab")  # noqa: SIM115 - closed by stop()
        self._client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="privacy-tap")
        self._client.on_connect = lambda c, *_: c.subscribe("#", qos=0)
        self._client.on_message = self._on_message
        self._client.connect_async(host, port)
        self._client.loop_start()

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        with self._lock:
            self._file.write(message.topic.encode() + b"\t" + message.payload + b"\n")

    def stop(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()
        with self._lock:
            self._file.close()
