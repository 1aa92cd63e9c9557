"""Frame sources: the --sim folder and video, the OpenCV camera and the factory."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import cv2
import numpy as np
import pytest

from devices.errors import CameraError, DeviceUnavailable
from devices.face import CameraSettings, Decision, Liveness, frames_of, open_frame_source
from devices.face.camera import OpenCVCamera
from devices.face.sim import ImageFolderSource, VideoFileSource


def coloured(value: int) -> np.ndarray:
    return np.full((48, 64, 3), (value, 0, 255 - value), np.uint8)


def write_video(path: Path, frames: list[np.ndarray], fps: float = 10.0) -> Path:
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    assert writer.isOpened()
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    for i, value in enumerate((0, 100, 200)):
        cv2.imwrite(
            str(tmp_path / f"frame{i}.png"), cv2.cvtColor(coloured(value), cv2.COLOR_RGB2BGR)
        )
    (tmp_path / "notes.txt").write_text("not an image")
    return tmp_path


def test_folder_source_gives_rgb_frames_in_name_order_and_loops(image_folder):
    source = open_frame_source(CameraSettings(kind="folder", path=image_folder))
    reds = [int(frame[0, 0, 0]) for frame in frames_of(source, 4)]
    assert reds == [0, 100, 200, 0]
    assert source.health().state == "ok"


def test_folder_source_without_loop_ends_with_camera_error(image_folder):
    source = ImageFolderSource(image_folder, loop=False)
    assert len(list(frames_of(source, 3))) == 3
    with pytest.raises(CameraError):
        source.read()


def test_folder_source_paces_like_a_camera(image_folder):
    import time

    source = ImageFolderSource(image_folder, fps=20)
    started = time.monotonic()
    list(frames_of(source, 4))
    assert time.monotonic() - started >= 3 / 20 * 0.9


def test_missing_or_empty_folder_is_unavailable(tmp_path):
    with pytest.raises(DeviceUnavailable):
        ImageFolderSource(tmp_path / "nowhere")
    with pytest.raises(DeviceUnavailable):
        ImageFolderSource(tmp_path)


def test_video_source_reads_and_loops(tmp_path):
    video = write_video(tmp_path / "demo.avi", [coloured(v) for v in (0, 120, 240)])
    source = open_frame_source(CameraSettings(kind="video", path=video))
    reds = [int(frame[10, 10, 0]) for frame in frames_of(source, 6)]
    assert reds[0] < 30 and 90 < reds[1] < 150 and reds[2] > 210
    assert reds[3:] == pytest.approx(reds[:3], abs=2)
    source.close()
    with pytest.raises(DeviceUnavailable):
        source.read()


def test_video_source_without_loop_ends(tmp_path):
    video = write_video(tmp_path / "demo.avi", [coloured(0), coloured(50)])
    source = VideoFileSource(video, loop=False)
    list(frames_of(source, 2))
    with pytest.raises(CameraError):
        source.read()


def test_unreadable_video_is_unavailable(tmp_path):
    bogus = tmp_path / "bogus.avi"
    bogus.write_bytes(b"not a video")
    with pytest.raises(DeviceUnavailable):
        VideoFileSource(bogus)


def test_sim_video_runs_the_real_verifier(tmp_path, verifier, card_reference, blink_frames):
    """The --sim path end to end: a recorded blink, replayed, verified."""
    video = write_video(tmp_path / "blink.avi", blink_frames)
    source = open_frame_source(CameraSettings(kind="video", path=video, loop=False))
    result = verifier.verify(card_reference, frames_of(source, len(blink_frames)))
    assert result.decision is Decision.MATCH
    assert result.liveness is Liveness.PASSED


def test_absent_camera_is_unavailable_and_reported_absent():
    camera = OpenCVCamera(63)
    with pytest.raises(DeviceUnavailable):
        camera.open()
    assert camera.health().state == "absent"
    with pytest.raises(DeviceUnavailable):
        camera.read()


def test_factory_refuses_a_sim_without_path():
    with pytest.raises(DeviceUnavailable):
        open_frame_source(CameraSettings(kind="folder"))


def test_opencv_camera_reads_a_stream(tmp_path):
    """OpenCVCamera takes any OpenCV source (device, URL); a file stands in for one."""
    video = write_video(tmp_path / "stream.avi", [coloured(200)] * 3)
    with OpenCVCamera(str(video)) as camera:
        frame = camera.read()
        assert frame.shape == (48, 64, 3) and frame[0, 0, 0] > 180  # RGB, not BGR
        assert camera.health().state == "ok"


def test_camera_failures_become_camera_errors_and_health_degrades(tmp_path):
    with mock.patch("devices.face.camera.cv2.VideoCapture", autospec=True) as capture_class:
        capture = capture_class.return_value
        capture.isOpened.return_value = True
        capture.read.return_value = (False, None)
        camera = OpenCVCamera(str(tmp_path / "video0"))
        camera.open()

        with pytest.raises(CameraError):
            camera.read()
        assert camera.health().state == "degraded"

        capture.read.side_effect = cv2.error("driver fell over")
        for _ in range(2):
            with pytest.raises(CameraError) as caught:
                camera.read()
        assert isinstance(caught.value.__cause__, cv2.error)
        assert camera.health().state == "fault"

        capture.read.side_effect = None
        capture.read.return_value = (True, np.zeros((4, 4, 3), np.uint8))
        camera.read()
        assert camera.health().state == "ok"


def test_camera_that_will_not_open_is_unavailable(tmp_path):
    with mock.patch("devices.face.camera.cv2.VideoCapture", autospec=True) as capture_class:
        capture_class.return_value.isOpened.return_value = False
        camera = OpenCVCamera(str(tmp_path))
        with pytest.raises(DeviceUnavailable):
            camera.open()
        assert camera.health().state == "unknown"
