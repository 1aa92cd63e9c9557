"""BER-TLV (ISO/IEC 8825-1, as profiled by ISO/IEC 7816-4), just enough for the card's files.

Our own few lines rather than a dependency: the holder file uses single-level
templates with one- and two-byte tags and lengths below 64 KiB, and the
decoder must be strict (a card's bytes are untrusted input), which is easier
to guarantee for code this small than for a general ASN.1 library.
"""

from __future__ import annotations


class TlvError(ValueError):
    """The bytes are not well-formed BER-TLV."""


def encode(tag: int, value: bytes) -> bytes:
    """One TLV: ``tag`` as its natural bytes (``0x70``, ``0x5F20``), definite length."""
    if tag <= 0:
        raise ValueError(f"invalid tag {tag:#x}")
    tag_bytes = tag.to_bytes((tag.bit_length() + 7) // 8, "big")
    return tag_bytes + _encode_length(len(value)) + value


def _encode_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    if length <= 0xFF:
        return bytes([0x81, length])
    if length <= 0xFFFF:
        return bytes([0x82]) + length.to_bytes(2, "big")
    raise ValueError(f"value too long for this profile: {length} bytes")


def decode(data: bytes) -> list[tuple[int, bytes]]:
    """The TLVs of one level, in order. Padding bytes 00 and FF between them are skipped.

    Raises TlvError on a truncated tag, length or value, on the indefinite
    form, and on lengths over three bytes: never returns a partial list.
    """
    items: list[tuple[int, bytes]] = []
    pos = 0
    end = len(data)
    while pos < end:
        if data[pos] in (0x00, 0xFF):
            pos += 1
            continue
        tag, pos = _read_tag(data, pos)
        length, pos = _read_length(data, pos)
        if pos + length > end:
            raise TlvError(f"value of tag {tag:#x} truncated: {length} bytes announced")
        items.append((tag, bytes(data[pos : pos + length])))
        pos += length
    return items


def find(data: bytes, tag: int) -> bytes | None:
    """The value of the first ``tag`` at this level, or None."""
    for item_tag, value in decode(data):
        if item_tag == tag:
            return value
    return None


def _read_tag(data: bytes, pos: int) -> tuple[int, int]:
    first = data[pos]
    tag = first
    pos += 1
    if first & 0x1F == 0x1F:
        while True:
            if pos >= len(data):
                raise TlvError("tag truncated")
            byte = data[pos]
            tag = (tag << 8) | byte
            pos += 1
            if not byte & 0x80:
                break
            if tag > 0xFFFFFF:
                raise TlvError("tag longer than three bytes")
    return tag, pos


def _read_length(data: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(data):
        raise TlvError("length missing")
    first = data[pos]
    pos += 1
    if first < 0x80:
        return first, pos
    count = first & 0x7F
    if count == 0:
        raise TlvError("indefinite length is not allowed")
    if count > 3:
        raise TlvError(f"length of {count} bytes is not supported")
    if pos + count > len(data):
        raise TlvError("length truncated")
    return int.from_bytes(data[pos : pos + count], "big"), pos + count
