"""Every word the citizen reads, looked up by key in ``kiosk/i18n/<locale>.json``.

Screens and the journey speak in keys (``t("home.apply")``); the device
errors carry theirs (``DeviceError.key``). Adding a language is adding one
JSON file with the same keys (a test checks that every key used exists).
Logs stay in English and never go through here.
"""

from __future__ import annotations

import json
import logging
from functools import cache
from pathlib import Path

logger = logging.getLogger(__name__)

I18N = Path(__file__).with_name("i18n")
DEFAULT_LOCALE = "zh_CN"

_locale = DEFAULT_LOCALE


@cache
def catalog(locale: str) -> dict[str, str]:
    """The strings of ``locale`` (a file name in ``kiosk/i18n``)."""
    return json.loads((I18N / f"{locale}.json").read_text(encoding="utf-8"))


def set_locale(locale: str) -> None:
    catalog(locale)  # fails early for a missing file
    global _locale
    _locale = locale


def has(key: str) -> bool:
    return key in catalog(_locale)


def t(key: str, **values: object) -> str:
    """The text of ``key``, formatted with ``values``. A missing key shows itself (and is
    logged) rather than crashing a citizen's session."""
    text = catalog(_locale).get(key)
    if text is None:
        logger.error("missing string %r for locale %s", key, _locale)
        return key
    return text.format(**values) if values else text
