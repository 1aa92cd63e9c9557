"""Every string a screen shows comes from kiosk/i18n/zh_CN.json, and every key used exists."""

from __future__ import annotations

import re
from pathlib import Path

from devices import errors
from kiosk import strings

KIOSK = Path(strings.__file__).parent
KEY_CALL = re.compile(r"""\bt\(\s*['"]([a-z_]+(?:\.[a-z0-9_]+)+)['"]""")


def used_keys() -> set[str]:
    found: set[str] = set()
    for path in [*KIOSK.rglob("*.py"), *KIOSK.rglob("*.kv")]:
        found |= set(KEY_CALL.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_key_used_by_the_app_exists() -> None:
    keys = used_keys()
    assert len(keys) > 60
    assert sorted(k for k in keys if not strings.has(k)) == []


def test_every_device_error_has_a_message() -> None:
    classes = [
        c
        for c in vars(errors).values()
        if isinstance(c, type) and issubclass(c, errors.DeviceError)
    ]
    assert sorted(c.key for c in classes if not strings.has(c.key)) == []
    assert strings.has("card.not_yet_valid")


def test_the_notices_the_journey_sets_exist() -> None:
    journey = (KIOSK / "journey.py").read_text(encoding="utf-8")
    notices = set(
        re.findall(r'"((?:apply|done|lookup|print|ask|oos|face\.retry)\.[a-z_.]+)"', journey)
    )
    decisions = ("no_match", "no_face", "multiple_faces", "liveness_failed", "error")
    notices |= {f"face.retry.{d}" for d in decisions}
    assert sorted(n for n in notices if not strings.has(n)) == []


def test_a_missing_key_shows_itself_instead_of_crashing() -> None:
    assert strings.t("no.such.key") == "no.such.key"
    assert strings.t("face.attempt", attempt=2, max=3) == "第 2 次 / 共 3 次"
