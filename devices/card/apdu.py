"""Command and response APDUs (ISO/IEC 7816-4), and the transport seam.

Every backend (PC/SC today, the in-process simulator, later perhaps a SAM
reader's passthrough) only has to implement ``ApduTransport.transmit``; the
citizen-card application logic above it is shared, so the simulator runs the
very same reading code as a real reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from devices.errors import CardDataInvalid

# Status words used by the citizen-card application (ISO/IEC 7816-4, table 5 and 6).
SW_OK = 0x9000
SW_END_OF_FILE = 0x6282  # fewer bytes than Le: end of file reached
SW_WRONG_LENGTH = 0x6700
SW_SECURITY_STATUS = 0x6982
SW_NO_CURRENT_EF = 0x6986
SW_WRONG_DATA = 0x6A80
SW_FUNCTION_NOT_SUPPORTED = 0x6A81
SW_NOT_FOUND = 0x6A82
SW_WRONG_P1P2 = 0x6A86
SW_WRONG_OFFSET = 0x6B00
SW_INS_NOT_SUPPORTED = 0x6D00
SW_CLA_NOT_SUPPORTED = 0x6E00


@dataclass(frozen=True)
class Response:
    """A response APDU split into data and status word."""

    data: bytes
    sw: int

    @property
    def ok(self) -> bool:
        return self.sw in (SW_OK, SW_END_OF_FILE)

    @classmethod
    def parse(cls, raw: bytes) -> Response:
        if len(raw) < 2:
            raise ValueError(f"response APDU of {len(raw)} bytes has no status word")
        return cls(data=bytes(raw[:-2]), sw=int.from_bytes(raw[-2:], "big"))

    def __bytes__(self) -> bytes:
        return self.data + self.sw.to_bytes(2, "big")


class ApduTransport(Protocol):
    """Sends one command APDU to the card in the reader and returns the raw response.

    Implementations raise ``devices.errors.CardRemoved`` when the card is gone
    (or its contact lost) and ``DeviceUnavailable`` when the reader or its
    service is; never a vendor exception.
    """

    def transmit(self, apdu: bytes) -> bytes: ...


def command(
    cla: int, ins: int, p1: int, p2: int, data: bytes = b"", le: int | None = None
) -> bytes:
    """A short command APDU (cases 1 to 4). ``le=256`` is encoded as 00."""
    if len(data) > 255:
        raise ValueError("extended APDUs are not used by this application")
    apdu = bytes([cla, ins, p1, p2])
    if data:
        apdu += bytes([len(data)]) + data
    if le is not None:
        if not 1 <= le <= 256:
            raise ValueError(f"Le out of range: {le}")
        apdu += bytes([le & 0xFF])
    return apdu


def transceive(transport: ApduTransport, apdu: bytes) -> Response:
    """Transmit, handling the T=0 conventions a real card may use.

    61xx (more data: GET RESPONSE) and 6Cxx (wrong Le: resend with the right
    one) are resolved here so that callers only ever see the final status.
    """
    response = _exchange(transport, apdu)
    if response.sw >> 8 == 0x6C:
        response = _exchange(transport, apdu[:-1] + bytes([response.sw & 0xFF]))
    data = response.data
    while response.sw >> 8 == 0x61:
        get_response = command(0x00, 0xC0, 0x00, 0x00, le=(response.sw & 0xFF) or 256)
        response = _exchange(transport, get_response)
        data += response.data
    return Response(data=data, sw=response.sw)


def _exchange(transport: ApduTransport, apdu: bytes) -> Response:
    raw = transport.transmit(apdu)
    try:
        return Response.parse(raw)
    except ValueError as err:
        raise CardDataInvalid(f"malformed response to {apdu[:4].hex()}: {err}") from err
