"""Log records keep text, never the objects they were given (a citizen's identity, a traceback)."""

from __future__ import annotations

import gc
import logging

from devices.card.sim import SimCardReader
from kiosk import log_privacy


class Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_records_hold_formatted_text_only() -> None:
    log_privacy.install()
    logger = logging.getLogger("test.log_privacy")
    keep = Keep()
    logger.addHandler(keep)
    logger.setLevel(logging.INFO)
    try:
        reader = SimCardReader()
        reader.insert_card("genuine")
        identity = reader.read_identity()
        logger.info("read %s", identity)
        try:
            raise ValueError(identity.masked_id_number)
        except ValueError:
            logger.exception("failed for %s", identity)
        del identity
        gc.collect()
        assert not [o for o in gc.get_objects() if type(o).__name__ == "CardIdentity"]
        first, second = keep.records
        assert first.args is None and "110105********002X" in first.getMessage()
        assert "11010519491231002X" not in first.getMessage()
        assert second.exc_info is None and "ValueError: 110105********002X" in second.exc_text
        formatted = logging.Formatter("%(message)s").format(second)
        assert "Traceback" in formatted
    finally:
        logger.removeHandler(keep)
