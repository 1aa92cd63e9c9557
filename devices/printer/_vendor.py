"""The one place where vendor exceptions become ``devices.errors``.

python-escpos, pyusb, pyserial and the socket module each raise their own
errors; none of them may reach the kiosk. Unreachable or unplugged hardware
becomes ``DeviceUnavailable``; anything else the library complains about
becomes ``PrinterError``. The original is kept as ``__cause__`` for the logs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from escpos import exceptions as escpos_errors

from devices.errors import DeviceError, DeviceUnavailable, PrinterError


def _optional(module: str, name: str) -> tuple[type[BaseException], ...]:
    """An exception class of an optional transport library, or nothing if it is absent."""
    try:
        mod = __import__(module, fromlist=[name])
    except ImportError:
        return ()
    return (getattr(mod, name),)


#: Transport failures that mean "the printer cannot be reached" (all OSError
#: subclasses today, named so a change in a library does not slip through).
UNREACHABLE: tuple[type[BaseException], ...] = (
    escpos_errors.DeviceNotFoundError,
    OSError,
    *_optional("usb.core", "USBError"),
    *_optional("usb.core", "NoBackendError"),  # no libusb on the machine: no USB printer either
    *_optional("serial", "SerialException"),
)

#: Read time-outs: the printer is there but did not answer a status query.
NO_REPLY: tuple[type[BaseException], ...] = (
    TimeoutError,
    *_optional("usb.core", "USBTimeoutError"),
)


@contextmanager
def converted(printer: str, action: str) -> Iterator[None]:
    """Run a transport call; re-raise vendor errors as the devices error tree."""
    try:
        yield
    except DeviceError:
        raise
    except UNREACHABLE as err:
        raise DeviceUnavailable(f"printer {printer}: {action} failed: {err}") from err
    except escpos_errors.Error as err:
        raise PrinterError(f"printer {printer}: {action} failed: {err}") from err
