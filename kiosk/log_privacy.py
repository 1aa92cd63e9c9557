"""Log records that hold text only, never the objects they were given.

A log record keeps its ``args`` and its exception's traceback (with every
frame's locals) for as long as anything holds the record: Kivy keeps the last
100 in ``LoggerHistory``, a memory handler or a test's log capture keep more.
A ``CardIdentity`` logged by the card reader ("card read and authenticated:
%s") would then outlive the citizen's session in memory. The kiosk app
installs this record factory at start: the message is formatted at once
(``CardIdentity`` formats itself masked), the traceback rendered to text, and
the objects dropped.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

_installed = False


def install() -> None:
    """Make every log record of this process text-only; idempotent."""
    global _installed
    if _installed:
        return
    base = logging.getLogRecordFactory()

    def text_only(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = base(*args, **kwargs)
        if record.args:
            try:
                record.msg = record.getMessage()
            except (TypeError, ValueError):
                record.msg = f"{record.msg} {record.args!r}"
            record.args = None
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip()
            record.exc_info = None
        return record

    logging.setLogRecordFactory(text_only)
    _installed = True
