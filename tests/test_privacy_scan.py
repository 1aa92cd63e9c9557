"""The privacy scanner finds what it must: a full identity number planted in a log, a SQLite
file, a PostgreSQL dump's bytea, an MQTT capture and a screenshot; and not a masked one.

Each test plants into a folder of its own outside the folders the session-end scan
reads (``tempfile``), so that its own plants do not fail the session.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from tests.privacy_scan import find_in_text, report, scan

FULL_ID = "11010519491231002X"  # a valid check digit (stdnum.cn.ric)


@pytest.fixture
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="privacy-plant-") as folder:
        yield Path(folder)


def test_a_full_number_planted_in_a_scratch_log_is_caught(scratch: Path) -> None:
    log = scratch / "logs" / "ingest.log"
    log.parent.mkdir()
    log.write_text(
        "INFO stored 3 events\n"
        f"WARNING applicant {FULL_ID[:6]}********{FULL_ID[-4:]} unmatched\n"
        f"ERROR refused body {{'id_number': '{FULL_ID}'}}\n",
        encoding="utf-8",
    )
    (finding,) = scan([scratch])
    assert finding.path == log
    assert FULL_ID not in str(finding) and "110105********002X" in finding.excerpt
    assert "1 full identity number(s)" in report([finding], [scratch])


def test_numbers_with_a_bad_check_digit_or_masked_are_not_findings(scratch: Path) -> None:
    (scratch / "ok.log").write_text(
        "110105194912310021 110105********002X 13800138000 20261203190512345678\n"
    )
    assert scan([scratch]) == []


def test_sqlite_files_dumps_and_mqtt_captures_are_read(scratch: Path) -> None:
    db = sqlite3.connect(scratch / "kiosk.db")
    db.execute("CREATE TABLE outbox (body TEXT, blob BLOB)")
    db.execute("INSERT INTO outbox VALUES (?, ?)", ("{}", f"x{FULL_ID}x".encode()))
    db.commit()
    db.close()
    (scratch / "all.sql").write_bytes(
        b"COPY public.dead_letters (payload) FROM stdin;\n\\\\x"
        + f'{{"note":"{FULL_ID}"}}'.encode().hex().encode()
        + b"\n\\.\n"
    )
    (scratch / "mqtt-capture.tsv").write_bytes(
        f'kiosk/k1/events\t{{"applicant":"{FULL_ID}"}}\n'.encode()
    )
    found = sorted(f.path.name for f in scan([scratch]))
    assert found == ["all.sql", "kiosk.db", "mqtt-capture.tsv"]


def test_a_full_number_on_a_screenshot_is_read_by_ocr(scratch: Path) -> None:
    pytest.importorskip("rapidocr_onnxruntime")
    image = Image.new("RGB", (900, 200), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=40)
    draw.text((20, 30), f"证件号码：{FULL_ID}", fill="black", font=font)
    draw.text((20, 110), "110105********002X", fill="black", font=font)
    image.save(scratch / "apply.png")
    (finding,) = scan([scratch])
    assert finding.path.name == "apply.png"


def test_full_width_and_spaced_numbers_are_findings() -> None:
    assert find_in_text("号码 110105 19491231 002X")
    assert find_in_text("１１０１０５１９４９１２３１００２Ｘ")
