"""Face images and encodings never reach a disk, a log or a repr."""

from __future__ import annotations

import builtins
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from devices.face import Decision

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def listing(folder: Path) -> set[str]:
    return {str(Path(root, name)) for root, _dirs, files in os.walk(folder) for name in files}


@pytest.fixture
def no_writes(monkeypatch, tmp_path):
    """Fail the test on any write through Python, and watch cwd and the temp dir.

    Patched at the outermost seams (builtins.open, os.open, the image and array
    savers); the directory listings catch what native code might write itself.
    """
    writes: list[str] = []
    real_open, real_os_open = builtins.open, os.open

    def guarded_open(file, mode="r", *args, **kwargs):
        if any(flag in mode for flag in "wax+"):
            writes.append(f"open({file!r}, {mode!r})")
        return real_open(file, mode, *args, **kwargs)

    def guarded_os_open(path, flags, *args, **kwargs):
        if flags & WRITE_FLAGS:
            writes.append(f"os.open({path!r})")
        return real_os_open(path, flags, *args, **kwargs)

    def refuse(name):
        def saver(*args, **kwargs):
            writes.append(name)
            raise AssertionError(f"{name} called during verification")

        return saver

    # A private cwd and temp dir, so that anything written at all is ours to see.
    work, temp = tmp_path / "cwd", tmp_path / "tmp"
    work.mkdir()
    temp.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    before = listing(tmp_path)
    monkeypatch.setattr(builtins, "open", guarded_open)
    monkeypatch.setattr(os, "open", guarded_os_open)
    monkeypatch.setattr(cv2, "imwrite", refuse("cv2.imwrite"))
    monkeypatch.setattr(np, "save", refuse("np.save"))
    monkeypatch.setattr(np, "savez", refuse("np.savez"))
    yield writes
    monkeypatch.undo()
    assert writes == []
    assert listing(tmp_path) == before


def test_verification_writes_no_file(no_writes, verifier, images, blink_frames):
    reference = verifier.enrol(images["obama.jpg"])
    result = verifier.verify(reference, blink_frames)
    reference.clear()
    assert result.decision is Decision.MATCH
    assert no_writes == []


def test_guard_would_catch_a_write(no_writes):
    """The guard is real: writing a file is seen (then forgiven for this test)."""
    with open("leak.bin", "wb") as leak:
        leak.write(b"x")
    assert no_writes == ["open('leak.bin', 'wb')"]
    no_writes.clear()
    os.unlink("leak.bin")


def test_logs_and_reprs_hold_no_arrays(caplog, verifier, card_reference, blink_frames):
    caplog.set_level(logging.DEBUG)
    result = verifier.verify(card_reference, blink_frames)
    text = "\n".join(r.getMessage() for r in caplog.records)
    shown = f"{text}\n{result!r}\n{verifier!r}\n{card_reference!r}"
    assert "match" in text
    assert "array(" not in shown and "[" not in shown
    assert len(shown) < 2000


def test_importing_devices_face_loads_no_vendor_library():
    """kiosk/ may import the protocols and results without cv2 or dlib coming along."""
    code = (
        "import sys, devices.face; "
        "print(sorted(m for m in ('cv2', 'dlib', 'face_recognition') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
