"""Turn a ``Document`` into the bytes of one ESC/POS print job.

A pure function of the document and the paper width, so a test can pin the
exact bytes and every transport (simulator, emulator, real printer) receives
the same job. Layout is done here in display columns (a hanzi is two
columns): printers wrap on bytes, which would split a GB18030 character.

It is also the privacy boundary: every field of the document (title, labels,
values, caption, footer, QR payload) is masked with
``masking.mask_personal_numbers`` as a whole, before it is wrapped, so an
identity number cannot escape by straddling two printed lines.
"""

from __future__ import annotations

from .commands import (
    CHINESE_ON,
    CUT,
    INIT,
    LF,
    align,
    bold,
    char_size,
    clean,
    display_width,
    encode_text,
    qr_code,
)
from .documents import Document, Line
from .masking import mask_personal_numbers

LABEL_SEPARATOR = "："  # full-width colon, as on printed government forms


def printable(text: str) -> str:
    """A field as it may reach paper: control characters dropped, personal numbers masked."""
    return mask_personal_numbers(clean(text))


def wrap(text: str, width: int) -> list[str]:
    """Cut ``printable(text)`` into pieces that each fit ``width`` columns.

    Never splits a character; masking happens before the cut, on the whole text.
    """
    if width < 2:
        raise ValueError(f"cannot wrap to {width} columns")
    pieces: list[str] = []
    current, used = "", 0
    for ch in printable(text):
        w = display_width(ch)
        if used + w > width:
            pieces.append(current)
            current, used = "", 0
        current += ch
        used += w
    pieces.append(current)
    return pieces


def layout_line(line: Line, columns: int) -> list[str]:
    """``label：value``, continuation rows indented under the value."""
    prefix = printable(line.label) + LABEL_SEPARATOR
    indent = display_width(prefix)
    room = columns - indent
    if room < columns // 3:  # a long label: give the value full lines of its own
        return [prefix, *wrap(line.value, columns)]
    first, *rest = wrap(line.value, room)
    return [prefix + first, *(" " * indent + piece for piece in rest)]


def render(document: Document, *, columns: int = 32, qr_module: int = 6) -> bytes:
    """The job for one document: init, Chinese mode, text, QR code, cut."""
    out = bytearray(INIT + CHINESE_ON)

    def text_line(text: str) -> None:
        out.extend(encode_text(text) + LF)

    out += align("center") + char_size(2, 2) + bold(True)
    for piece in wrap(document.title, columns // 2):
        text_line(piece)
    out += bold(False) + char_size(1, 1)
    if document.subtitle:
        for piece in wrap(document.subtitle, columns):
            text_line(piece)

    out += align("left")
    rule = "-" * columns
    text_line(rule)
    for line in document.lines:
        for row in layout_line(line, columns):
            text_line(row)
    text_line(rule)

    if document.qr or document.footer:
        out += align("center")
    if document.qr:
        out += qr_code(document.qr, module=qr_module)  # masks its payload too
        out += LF
        if document.qr_caption:
            for piece in wrap(document.qr_caption, columns):
                text_line(piece)
    for footer_line in document.footer:
        for piece in wrap(footer_line, columns):
            text_line(piece)
    out += align("left") + CUT
    return bytes(out)
