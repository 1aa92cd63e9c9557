"""What an enrolment code's QR code says, written by the ops page and read by ``kioskctl enrol --scan``.

``govkiosk-enrol:?code=K7QM-2XPA-9HDT-RW4C&backend=https%3A%2F%2Ffleet.example``:
the code and the backend it belongs to, so that a technician who scans it
types nothing. A bare code (16 characters, dashes optional) is accepted too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

SCHEME = "govkiosk-enrol"
CODE = re.compile(r"[A-HJ-NP-Z2-9]{4}(-?[A-HJ-NP-Z2-9]{4}){3}")


@dataclass(frozen=True)
class EnrolmentQr:
    code: str
    backend: str | None


def payload(code: str, backend: str | None) -> str:
    query = {"code": code} | ({"backend": backend.rstrip("/")} if backend else {})
    return f"{SCHEME}:?{urlencode(query)}"


def parse(text: str) -> EnrolmentQr | None:
    """The code (and backend) in a scanned text, or None when it is not an enrolment QR."""
    text = text.strip()
    if CODE.fullmatch(text.upper()):
        return EnrolmentQr(text.upper(), None)
    parts = urlsplit(text)
    if parts.scheme != SCHEME:
        return None
    query = parse_qs(parts.query)
    code = (query.get("code") or [""])[0].upper()
    if not CODE.fullmatch(code):
        return None
    backend = (query.get("backend") or [None])[0]
    if backend is not None and urlsplit(backend).scheme not in ("http", "https"):
        return None
    return EnrolmentQr(code, backend)
