"""Read an ESC/POS byte stream back: split it into commands and show it as text.

The simulator and the TCP emulator both need to understand what a driver
sent: the emulator must find status queries inside a job (and not mistake QR
data for one), and a person wants to read the receipt. This parser knows the
length of the common commands, so data inside a command is never read as
another command; unknown commands are skipped as two bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .commands import display_width

OpKind = Literal[
    "text", "lf", "init", "chinese", "align", "size", "mode", "bold", "feed", "cut", "2d",
    "query", "other",
]  # fmt: skip


@dataclass(frozen=True)
class Op:
    """One command (or run of text) as it appeared on the wire."""

    kind: OpKind
    raw: bytes
    value: int | bytes | None = None


_ESC_3 = frozenset(b"!-3EGJMRTUVadt{")
_ESC_KINDS: dict[int, OpKind] = {
    ord("@"): "init", ord("a"): "align", ord("!"): "mode", ord("E"): "bold",
    ord("d"): "feed", ord("i"): "cut", ord("m"): "cut",
}  # fmt: skip
_FS_3 = frozenset(b"!-CW")
_GS_3 = frozenset(b"!BHafhrwb")


def _gs_len(buf: bytes, i: int) -> int | None:
    """Length of the GS command at ``i``, None when more bytes are needed."""
    n = len(buf) - i
    c = buf[i + 1]
    if c == ord("V"):
        if n < 3:
            return None
        return 4 if buf[i + 2] in (65, 66, 97, 98, 103, 104) else 3
    if c == ord("("):
        if n < 5:
            return None
        return 5 + buf[i + 3] + 256 * buf[i + 4]
    if c == ord("v"):  # GS v 0 m xL xH yL yH d...: raster image
        if n < 8:
            return None
        return 8 + (buf[i + 4] + 256 * buf[i + 5]) * (buf[i + 6] + 256 * buf[i + 7])
    if c == ord("k"):  # barcode: NUL-terminated (m < 65) or counted
        if n < 4:
            return None
        if buf[i + 2] >= 65:
            return 4 + buf[i + 3]
        end = buf.find(b"\x00", i + 3)
        return None if end < 0 else end - i + 1
    if c in (ord("L"), ord("W")):
        return 4
    return 3 if c in _GS_3 else 2


def _esc_len(buf: bytes, i: int) -> int | None:
    c = buf[i + 1]
    if c == ord("p"):
        return 5
    if c == ord("c"):
        return 4
    if c == ord("*"):  # ESC * m nL nH d...: bit image
        if len(buf) - i < 5:
            return None
        dots = buf[i + 3] + 256 * buf[i + 4]
        return 5 + dots * (1 if buf[i + 2] in (0, 1) else 3)
    return 3 if c in _ESC_3 else 2


def _command(buf: bytes, i: int) -> tuple[Op, int] | None:
    """The command starting at ``i`` (a prefix byte), or None if it is incomplete."""
    if len(buf) - i < 2:
        return None
    prefix, c = buf[i], buf[i + 1]
    if prefix == 0x1B:
        size = _esc_len(buf, i)
    elif prefix == 0x1C:
        size = 4 if c == ord("S") else 3 if c in _FS_3 else 2
    elif prefix == 0x1D:
        size = _gs_len(buf, i)
    else:  # DLE
        size = 5 if c == 0x14 else 3
    if size is None or len(buf) - i < size:
        return None
    raw = bytes(buf[i : i + size])
    arg = raw[2] if size >= 3 else None
    kind: OpKind = "other"
    value: int | bytes | None = arg
    if prefix == 0x1B:
        kind = _ESC_KINDS.get(c, "other")
    elif prefix == 0x1C and c in (ord("&"), ord(".")):
        kind, value = "chinese", int(c == ord("&"))
    elif prefix == 0x1D:
        if c == ord("!"):
            kind = "size"
        elif c == ord("V"):
            kind = "cut"
        elif c == ord("r"):
            kind = "query"
        elif c == ord("(") and raw[2] == ord("k") and size >= 7:
            kind, value = "2d", raw[6:]  # fn, then the function's own bytes
    elif prefix == 0x10 and c == 0x04:
        kind = "query"
    return Op(kind, raw, value), size


def parse(buf: bytes) -> tuple[list[Op], int]:
    """Split ``buf`` into ops; also return how many bytes were used.

    Bytes after the last complete command are left for the caller to keep and
    pass again with what arrives next (a TCP read can end anywhere).
    """
    ops: list[Op] = []
    i = 0
    while i < len(buf):
        b = buf[i]
        if b in (0x1B, 0x1C, 0x1D, 0x10):
            found = _command(buf, i)
            if found is None:
                break
            op, size = found
            ops.append(op)
            i += size
        elif b == 0x0A:
            ops.append(Op("lf", b"\n"))
            i += 1
        elif b < 0x20:
            ops.append(Op("other", bytes([b])))
            i += 1
        else:
            j = i
            while j < len(buf) and buf[j] >= 0x20:
                j += 1
            ops.append(Op("text", bytes(buf[i:j])))
            i = j
    return ops, i


#: What the paper shows, in order: a line of text, a QR code (its payload), a cut.
ItemKind = Literal["text", "qr", "cut"]
_QR = 0x31  # GS ( k cn = "1": the QR code functions (cn "0" is PDF417)


@dataclass(frozen=True)
class _Printed:
    kind: ItemKind
    text: str = ""
    align: int = 0
    scale: int = 1


def _interpret(data: bytes, chinese_at_power_on: bool) -> list[_Printed]:
    """Run a job through a model of the printer and list what comes out on paper.

    Text is decoded as GB18030 only while Chinese mode (``FS &``) is on, and as
    the default single-byte code page (CP437) otherwise, exactly like a printer
    would: a job that forgot ``FS &`` comes out as mojibake. A QR code is the
    payload of the last ``GS ( k`` store (fn 80) when print (fn 81) arrives.
    """
    ops, _ = parse(data)
    out: list[_Printed] = []
    chinese, where, scale, current = chinese_at_power_on, 0, 1, ""
    qr_data = b""

    def emit(text: str) -> None:
        out.append(_Printed("text", text, where, scale))

    for op in ops:
        if op.kind == "text":
            current += op.raw.decode("gb18030" if chinese else "cp437", errors="replace")
        elif op.kind == "lf":
            emit(current)
            current = ""
        elif op.kind == "init":
            chinese, where, scale = chinese_at_power_on, 0, 1
        elif op.kind == "chinese":
            chinese = bool(op.value)
        elif op.kind == "align" and isinstance(op.value, int):
            where = op.value % 48
        elif op.kind == "size" and isinstance(op.value, int):
            scale = (op.value >> 4) + 1
        elif op.kind == "mode" and isinstance(op.value, int):
            scale = 2 if op.value & 0x20 else 1
        elif op.kind == "feed" and isinstance(op.value, int):
            if current:
                emit(current)
                current = ""
            out.extend(_Printed("text") for _ in range(op.value))
        elif op.kind == "2d" and isinstance(op.value, bytes) and op.raw[5] == _QR:
            fn, body = op.value[:1], op.value[1:]
            if fn == b"P":
                qr_data = body[1:]  # after m = "0"
            elif fn == b"Q":
                out.append(_Printed("qr", qr_data.decode("utf-8", errors="replace"), where))
        elif op.kind == "cut":
            if current:
                emit(current)
                current = ""
            out.append(_Printed("cut"))
    if current:
        emit(current)
    return out


@dataclass(frozen=True)
class PrintedJob:
    """A job decoded the way the printer would print it, for assertions and people.

    ``items`` keeps the order on paper: ``("text", line)``, ``("qr", payload)``,
    ``("cut", "")``. Lines carry no alignment padding (``as_text`` adds it).
    """

    items: tuple[tuple[ItemKind, str], ...]

    @property
    def lines(self) -> tuple[str, ...]:
        return tuple(text for kind, text in self.items if kind == "text")

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def qr_codes(self) -> tuple[str, ...]:
        return tuple(text for kind, text in self.items if kind == "qr")

    @property
    def cuts(self) -> int:
        return sum(kind == "cut" for kind, _ in self.items)

    @property
    def ends_with_cut(self) -> bool:
        """True when the paper is cut after everything else was printed."""
        return bool(self.items) and self.items[-1][0] == "cut"


def decode(data: bytes, *, chinese_at_power_on: bool = False) -> PrintedJob:
    """Text lines (GB18030 in Chinese mode), QR payloads and cuts of a job."""
    return PrintedJob(
        tuple(
            (item.kind, item.text.rstrip() if item.kind == "text" else item.text)
            for item in _interpret(data, chinese_at_power_on)
        )
    )


def as_text(data: bytes, *, columns: int = 32, chinese_at_power_on: bool = False) -> str:
    """What the paper would show, as plain text, aligned within ``columns``.

    QR codes appear as ``[二维码: payload]`` and cuts as a scissors line.
    """
    lines: list[str] = []
    for item in _interpret(data, chinese_at_power_on):
        if item.kind == "cut":
            lines.append("✂" + "-" * (columns - 2))
            continue
        text = item.text if item.kind == "text" else f"[二维码: {item.text}]"
        pad = max(columns - display_width(text) * item.scale, 0)  # in paper columns
        if item.align == 1:
            text = " " * (pad // 2) + text
        elif item.align == 2:
            text = " " * pad + text
        lines.append(text.rstrip())
    return "\n".join(lines) + "\n" if lines else ""
