"""The one error tree of the devices boundary.

    DeviceError                      base; .key is a translation key for the UI
    ├── DeviceUnavailable            absent, unplugged, driver or service down
    ├── CardError
    │   ├── CardRemoved              pulled out mid-read: nothing half-read is returned
    │   ├── CardNotAuthentic         failed the certificate or challenge-response (.reason)
    │   ├── CardExpired              outside its validity dates
    │   ├── CardUnsupported          no kiosk application on it (blank or foreign card)
    │   └── CardDataInvalid          files unreadable or inconsistent (bad checksum ...)
    ├── CameraError
    └── PrinterError
        └── PaperOut

A face that does not match is a result, not an exception. ``key`` is looked up
in the kiosk's translations (``kiosk/i18n/zh_CN.json``); ``str(err)`` keeps the
technical detail, in English, for logs.
"""

from __future__ import annotations


class DeviceError(Exception):
    key = "device.error"

    def __init__(self, detail: str = "", *, key: str | None = None) -> None:
        super().__init__(detail or self.__class__.__name__)
        if key is not None:
            self.key = key


class DeviceUnavailable(DeviceError):
    key = "device.unavailable"


class CardError(DeviceError):
    key = "card.error"


class CardRemoved(CardError):
    key = "card.removed"


class CardNotAuthentic(CardError):
    """``reason`` names the check that failed, for logs and callers that tell them apart:
    ``certificate``, ``signature``, ``files``, ``challenge`` (devices/card/auth.py)."""

    key = "card.not_authentic"

    def __init__(
        self, detail: str = "", *, key: str | None = None, reason: str = "signature"
    ) -> None:
        super().__init__(detail, key=key)
        self.reason = reason


class CardExpired(CardError):
    key = "card.expired"


class CardUnsupported(CardError):
    key = "card.unsupported"


class CardDataInvalid(CardError):
    key = "card.data_invalid"


class CameraError(DeviceError):
    key = "camera.error"


class PrinterError(DeviceError):
    key = "printer.error"


class PaperOut(PrinterError):
    key = "printer.paper_out"
