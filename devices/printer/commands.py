"""The ESC/POS byte sequences this driver sends, named after the manual.

We write these few commands ourselves instead of going through
python-escpos's ``text()``: its "magic encoder" picks single-byte code pages
(CP437, CP936 fallbacks ...) and cannot produce GB18030, which is what a
printer in Chinese mode (``FS &``) expects. python-escpos stays the transport
layer (USB, serial, network); the bytes of a job are built here, so the
simulator, the emulator and a real printer all receive exactly the same job.
"""

from __future__ import annotations

import unicodedata
from typing import Literal

from .masking import mask_personal_numbers

ESC = b"\x1b"
GS = b"\x1d"
FS = b"\x1c"
DLE = b"\x10"
EOT = b"\x04"
LF = b"\n"

INIT = ESC + b"@"  # ESC @: clear the buffer, reset modes
CHINESE_ON = FS + b"&"  # FS &: Chinese (Kanji) mode; text is double-byte GB18030
CHINESE_OFF = FS + b"."  # FS .: back to single-byte code page mode

Align = Literal["left", "center", "right"]
_ALIGN = {"left": 0, "center": 1, "right": 2}

#: GS V B n: feed to the cutter, then partial cut. Feeding first keeps the last
#: line out of the blade, so no separate feed command is needed.
CUT = GS + b"VB\x00"

# QR code (GS ( k, cn = 49 "1"): model, module size, error correction, store, print.
QR_MODEL_2 = 50  # "2"
QR_EC = {"L": 48, "M": 49, "Q": 50, "H": 51}
#: Bytes a model-2 QR code holds at each error correction level (version 40).
QR_CAPACITY = {"L": 2953, "M": 2331, "Q": 1663, "H": 1273}


def align(where: Align) -> bytes:
    """ESC a n: justification for the lines that follow."""
    return ESC + b"a" + bytes([_ALIGN[where]])


def char_size(width: int = 1, height: int = 1) -> bytes:
    """GS ! n: character magnification, 1-8 in each direction.

    In Chinese mode this scales the double-byte glyphs too (unlike ``ESC !``,
    whose double flags only reach the single-byte font on many printers).
    """
    if not (1 <= width <= 8 and 1 <= height <= 8):
        raise ValueError(f"character size {width}x{height} outside 1-8")
    return GS + b"!" + bytes([(width - 1) << 4 | (height - 1)])


def bold(on: bool) -> bytes:
    """ESC E n: emphasised (bold) printing."""
    return ESC + b"E" + (b"\x01" if on else b"\x00")


def feed_lines(n: int) -> bytes:
    """ESC d n: print the buffer and feed n lines."""
    if not 0 <= n <= 255:
        raise ValueError(f"cannot feed {n} lines")
    return ESC + b"d" + bytes([n])


def _gs_k(fn: int, payload: bytes) -> bytes:
    """GS ( k pL pH cn fn [payload]: one 2D-code function, length little-endian."""
    size = len(payload) + 2
    return GS + b"(k" + size.to_bytes(2, "little") + b"1" + bytes([fn]) + payload


def qr_code(data: str, *, module: int = 6, ec: Literal["L", "M", "Q", "H"] = "M") -> bytes:
    """The full sequence that prints one QR code natively on the printer.

    The payload is UTF-8 (what phone scanners assume); receipts carry ASCII URLs.
    Native rendering keeps a job small (no raster image) and crisp. Identity
    and mobile numbers in it are masked like printed text: a phone reads a QR
    code as easily as a person reads a line.
    """
    payload = mask_personal_numbers(data).encode("utf-8")
    if not payload:
        raise ValueError("empty QR payload")
    if len(payload) > QR_CAPACITY[ec]:
        raise ValueError(f"QR payload of {len(payload)} bytes exceeds {QR_CAPACITY[ec]}")
    if not 1 <= module <= 16:
        raise ValueError(f"QR module size {module} outside 1-16")
    return (
        _gs_k(65, bytes([QR_MODEL_2, 0]))  # fn 65: select model 2
        + _gs_k(67, bytes([module]))  # fn 67: module (dot) size
        + _gs_k(69, bytes([QR_EC[ec]]))  # fn 69: error correction level
        + _gs_k(80, b"0" + payload)  # fn 80: store the data in the symbol area
        + _gs_k(81, b"0")  # fn 81: print the stored symbol
    )


def clean(text: str) -> str:
    """Drop control characters from text that reaches the printer.

    A name or a service title comes from outside; an ESC or GS inside it would
    be executed by the printer as a command (cut, reset, open drawer ...).
    Tabs and newlines become spaces: layout is ours, not the data's.
    """
    out = []
    for ch in text:
        if ch in "\t\r\n":
            out.append(" ")
        elif unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co"):
            out.append(ch)
    return "".join(out)


def encode_text(text: str) -> bytes:
    """Text as the printer reads it in Chinese mode: GB18030 after ``clean`` and masking.

    GB18030 is a superset of GBK (two bytes per common hanzi, ASCII unchanged)
    and also covers rare name characters as four-byte sequences. Every text
    byte of a job comes from here, so identity and mobile numbers are masked
    here too (after ``clean``, so a control character inside a number cannot
    hide it); ``render`` also masks whole fields before it wraps them.
    """
    return mask_personal_numbers(clean(text)).encode("gb18030")


def display_width(text: str) -> int:
    """Columns a string takes on the paper: hanzi and full-width forms take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)
