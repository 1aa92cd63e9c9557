"""``python -m devices``: the commands as a technician runs them, in subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
FACES = REPO / "tests" / "data" / "faces"


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devices", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def face_verify(frame: Path, *extra: str) -> dict:
    result = run(
        "face-verify", "--card-photo", str(FACES / "obama.jpg"), "--frame", str(frame), *extra
    )
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.strip().splitlines()  # one JSON object, nothing else on stdout
    return json.loads(line)


def test_selftest_with_simulators_passes_and_lists_the_four_devices():
    result = run("selftest", "--sim")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert "设备 device" in lines[0] and "结果 result" in lines[0] and "耗时 time (ms)" in lines[0]
    for device in ("读卡器 card reader", "摄像头 camera", "人脸引擎 face engine", "打印机 printer"):
        (row,) = [line for line in lines if line.startswith(device)]
        assert row[len(device) :].split()[0] == "ok", row
    assert "4 of 4 ok" in result.stdout


def test_selftest_fails_on_a_missing_device(tmp_path):
    env_camera = tmp_path / "no-such-folder"
    result = subprocess.run(
        [sys.executable, "-m", "devices", "selftest", "--sim"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "KIOSK_CAMERA": f"folder:{env_camera}"},
    )
    assert result.returncode == 1
    (row,) = [line for line in result.stdout.splitlines() if line.startswith("摄像头")]
    assert " fail " in row and "does not exist" in row


@pytest.mark.parametrize(("live", "decision"), [("obama2.jpg", "match"), ("biden.jpg", "no_match")])
def test_face_verify_without_liveness(live, decision):
    out = face_verify(FACES / live, "--skip-liveness")
    assert out["decision"] == decision
    assert out["liveness"] == "not_checked"
    assert (out["distance"] < 0.4) if decision == "match" else (out["distance"] > 0.6)
    assert 0 < out["elapsed_s"] < 30


def test_face_verify_two_faces_is_multiple_faces(tmp_path):
    images = [cv2.imread(str(FACES / name)) for name in ("obama2.jpg", "biden.jpg")]
    scaled = [
        cv2.resize(im, (round(im.shape[1] * 480 / im.shape[0]), 480), interpolation=cv2.INTER_AREA)
        for im in images
    ]
    frame = tmp_path / "two.png"
    cv2.imwrite(str(frame), np.concatenate(scaled, axis=1))
    assert face_verify(frame, "--skip-liveness")["decision"] == "multiple_faces"


def test_face_verify_frame_without_a_face_is_no_face(tmp_path):
    suit = cv2.imread(str(FACES / "obama2.jpg"))[700:, :]  # jacket and tie
    frame = tmp_path / "suit.png"
    cv2.imwrite(str(frame), suit)
    out = face_verify(frame, "--skip-liveness")
    assert out["decision"] == "no_face" and out["distance"] is None


def test_face_verify_still_photo_fails_liveness_by_default():
    out = face_verify(FACES / "obama2.jpg")
    assert out["decision"] == "liveness_failed"


def test_face_verify_unreadable_files_exit_2(tmp_path):
    garbage = tmp_path / "garbage.jpg"
    garbage.write_bytes(b"not an image")
    for card, frame in [
        (garbage, FACES / "obama2.jpg"),
        (FACES / "obama.jpg", tmp_path / "none.jpg"),
    ]:
        result = run("face-verify", "--card-photo", str(card), "--frame", str(frame))
        assert result.returncode == 2
        assert "face-verify:" in result.stderr and result.stdout == ""


def test_every_command_has_help():
    for args in (["--help"], ["selftest", "--help"], ["face-verify", "--help"]):
        result = run(*args)
        assert result.returncode == 0 and len(result.stdout.splitlines()) >= 3
