"""The PC/SC boundary: every pyscard call and result code becomes a ``devices.errors`` error.

pyscard's low-level ``scard`` module returns PC/SC result codes instead of
raising, and raises ``scard.error`` only on misuse; both are converted here so
that nothing from pyscard travels past ``devices.card``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from smartcard import scard

from devices.errors import CardRemoved, CardUnsupported, DeviceError, DeviceUnavailable


def code(name: str) -> int:
    """A PC/SC constant as an unsigned 32-bit value, as the calls return them."""
    return getattr(scard, name) & 0xFFFFFFFF


SUCCESS = code("SCARD_S_SUCCESS")
TIMEOUT = code("SCARD_E_TIMEOUT")
CANCELLED = code("SCARD_E_CANCELLED")
NO_READERS = code("SCARD_E_NO_READERS_AVAILABLE")

SERVICE_DOWN = frozenset(
    code(n)
    for n in (
        "SCARD_E_NO_SERVICE",
        "SCARD_E_SERVICE_STOPPED",
        "SCARD_E_INVALID_HANDLE",  # our context died with the daemon
        "SCARD_F_INTERNAL_ERROR",
    )
)
READER_GONE = frozenset(
    code(n)
    for n in (
        "SCARD_E_READER_UNAVAILABLE",
        "SCARD_E_UNKNOWN_READER",
        "SCARD_E_NO_READERS_AVAILABLE",
    )
)
# The card left, or its contact did, while we talked to it: for the citizen both
# mean "take the card out and put it in again".
CARD_GONE = frozenset(
    code(n)
    for n in (
        "SCARD_W_REMOVED_CARD",
        "SCARD_E_NO_SMARTCARD",
        "SCARD_W_RESET_CARD",
        "SCARD_W_UNPOWERED_CARD",
        "SCARD_E_NOT_TRANSACTED",
        "SCARD_F_COMM_ERROR",
        "SCARD_E_COMM_DATA_LOST",
    )
)
CARD_MUTE = frozenset(code(n) for n in ("SCARD_W_UNRESPONSIVE_CARD", "SCARD_W_UNSUPPORTED_CARD"))


def message(hresult: int) -> str:
    try:
        text = scard.SCardGetErrorMessage(hresult)
    except Exception:  # pyscard may not know a code; the number is what matters
        text = "unknown PC/SC error"
    return f"{text.rstrip('.')} (0x{hresult & 0xFFFFFFFF:08X})"


def error_for(hresult: int, what: str) -> DeviceError:
    """The ``devices.errors`` error for a failed PC/SC call."""
    hresult &= 0xFFFFFFFF
    detail = f"{what}: {message(hresult)}"
    if hresult in CARD_GONE:
        return CardRemoved(detail)
    if hresult in CARD_MUTE:
        return CardUnsupported(detail)
    if hresult in SERVICE_DOWN:
        return DeviceUnavailable(detail, key="card.service_down")
    if hresult in READER_GONE:
        return DeviceUnavailable(detail, key="card.reader_absent")
    return DeviceUnavailable(detail)


def call(function: Callable[..., Any], *args: Any) -> Any:
    """Call a pyscard function; its exceptions become DeviceUnavailable."""
    try:
        return function(*args)
    except (scard.error, TypeError, SystemError) as err:
        raise DeviceUnavailable(f"pyscard {function.__name__} failed: {err}") from err


def check(result: Any, what: str) -> Any:
    """Split ``(hresult, value...)``; raise the converted error unless it succeeded."""
    if isinstance(result, int):
        hresult, values = result, ()
    else:
        hresult, *values = result
    if hresult & 0xFFFFFFFF != SUCCESS:
        raise error_for(hresult, what)
    if not values:
        return None
    return values[0] if len(values) == 1 else tuple(values)
