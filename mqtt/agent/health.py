"""The health snapshot: what the ops centre needs to know about one kiosk."""

from __future__ import annotations

import shutil
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from mqtt.contract.messages import HealthBody
from mqtt.device_health import DeviceHealthStore
from mqtt.outbox import Outbox

THERMAL_ZONES = Path("/sys/class/thermal")


def app_version() -> str:
    try:
        return version("govkiosk")
    except PackageNotFoundError:
        return "0+unknown"


def temperature_c() -> float | None:
    """The hottest thermal zone, where the hardware reports one."""
    readings = []
    for zone in THERMAL_ZONES.glob("thermal_zone*/temp"):
        try:
            readings.append(int(zone.read_text().strip()) / 1000)
        except (OSError, ValueError):
            continue
    return max(readings) if readings else None


class HealthCollector:
    def __init__(self, outbox: Outbox, devices: DeviceHealthStore, data_dir: Path) -> None:
        self.outbox = outbox
        self.devices = devices
        self.data_dir = data_dir
        self.started = time.monotonic()
        self.last_error: str | None = None

    def snapshot(self) -> HealthBody:
        stats = self.outbox.stats()
        disk = shutil.disk_usage(self.data_dir)
        return HealthBody(
            devices=self.devices.all(),
            paper=self.devices.paper(),
            disk_free_bytes=disk.free,
            disk_total_bytes=disk.total,
            temperature_c=temperature_c(),
            app_version=app_version(),
            uptime_s=round(time.monotonic() - self.started, 1),
            outbox_depth=stats.depth,
            outbox_oldest_age_s=None
            if stats.oldest_age_s is None
            else round(stats.oldest_age_s, 3),
            last_error=self.last_error,
        )
