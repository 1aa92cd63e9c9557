"""The card side of the citizen-card application, in Python.

Why it ships in the product: the simulator (``--sim``) and the vpcd virtual
card used for technicians' training and for tests run it, so a demo card
behaves, command for command, like the chip SPEC.md describes. It is also the
reference a card vendor can compare their applet against.

Not a secure element: the card's private key sits in process memory. Only
demo and training cards, certified with the demo issuer key, should ever be
built here.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from devices.card import tlv
from devices.card.apdu import (
    SW_CLA_NOT_SUPPORTED,
    SW_END_OF_FILE,
    SW_FUNCTION_NOT_SUPPORTED,
    SW_INS_NOT_SUPPORTED,
    SW_NO_CURRENT_EF,
    SW_NOT_FOUND,
    SW_OK,
    SW_WRONG_LENGTH,
    SW_WRONG_OFFSET,
    SW_WRONG_P1P2,
    Response,
)
from devices.card.application import (
    AID,
    CERTIFICATE_FID,
    HOLDER_FID,
    INS_INTERNAL_AUTHENTICATE,
    INS_READ_BINARY,
    INS_SELECT,
    PHOTO_FID,
    HolderRecord,
    encode_certificate,
)
from devices.card.auth import CHALLENGE_LENGTH, IssuerSigningKey, auth_message_from_digests

logger = logging.getLogger(__name__)

MF_FID = 0x3F00
# T=0 and T=1, eight historical bytes "GKCARD01", then TCK.
_ATR_BODY = bytes([0x3B, 0x88, 0x80, 0x01]) + b"GKCARD01"


def _with_tck(atr: bytes) -> bytes:
    tck = 0
    for byte in atr[1:]:
        tck ^= byte
    return atr + bytes([tck])


DEFAULT_ATR = _with_tck(_ATR_BODY)


class Applet(Protocol):
    """What a card does with APDUs: the seam between card logic and its transport."""

    atr: bytes

    def reset(self) -> None:
        """Power-up or warm reset: forget selections."""
        ...

    def process(self, apdu: bytes) -> bytes:
        """One command APDU in, one response APDU (data and SW) out. Never raises."""
        ...


class _Command:
    """A parsed short command APDU. Extended length is not supported (6700)."""

    def __init__(self, apdu: bytes) -> None:
        if len(apdu) < 4:
            raise ValueError("APDU shorter than its header")
        self.cla, self.ins, self.p1, self.p2 = apdu[:4]
        body = apdu[4:]
        self.data = b""
        self.le: int | None = None
        if len(body) == 1:
            self.le = body[0] or 256
        elif len(body) > 1:
            lc = body[0]
            if lc == 0 or len(body) not in (1 + lc, 2 + lc):
                raise ValueError("Lc does not match the APDU length")
            self.data = body[1 : 1 + lc]
            if len(body) == 2 + lc:
                self.le = body[-1] or 256


class BlankCard:
    """An ISO 7816 card with only a master file: what a blank or foreign card answers."""

    def __init__(self, atr: bytes = DEFAULT_ATR) -> None:
        self.atr = atr

    def reset(self) -> None:
        pass

    def process(self, apdu: bytes) -> bytes:
        try:
            cmd = _Command(apdu)
        except ValueError:
            return _sw(SW_WRONG_LENGTH)
        if cmd.cla != 0x00:
            return _sw(SW_CLA_NOT_SUPPORTED)
        if cmd.ins == INS_SELECT:
            if cmd.p1 == 0x00 and cmd.data in (b"", MF_FID.to_bytes(2, "big")):
                return _sw(SW_OK)
            return _sw(SW_NOT_FOUND)
        if cmd.ins == INS_READ_BINARY:
            return _sw(SW_NO_CURRENT_EF)
        return _sw(SW_INS_NOT_SUPPORTED)


class CitizenCard:
    """A personalised citizen card: holder, photo and certificate files, and its own key.

    ``card_key=None`` makes a clone: the files are copies, the private key
    cannot be read, so it answers the challenge with a key of its own, as the
    best a cloner can do.
    """

    def __init__(
        self,
        holder_file: bytes,
        photo_file: bytes,
        certificate_file: bytes,
        card_key: Ed25519PrivateKey | None,
        *,
        atr: bytes = DEFAULT_ATR,
    ) -> None:
        self.atr = atr
        self._files = {
            HOLDER_FID: holder_file,
            PHOTO_FID: photo_file,
            CERTIFICATE_FID: certificate_file,
        }
        self._serial = HolderRecord.decode(holder_file).serial
        self._key = card_key if card_key is not None else Ed25519PrivateKey.generate()
        # Stored at personalisation: what the card signs, whatever files a relay serves.
        self._digests = (hashlib.sha256(holder_file).digest(), hashlib.sha256(photo_file).digest())
        self.reset()

    @classmethod
    def issue(
        cls,
        record: HolderRecord,
        photo: bytes,
        issuer_key: IssuerSigningKey,
        card_key: Ed25519PrivateKey | None = None,
    ) -> CitizenCard:
        """Personalise a card as the issuer would: a key pair made on the card, the files,
        and the issuer's certificate over them and the card's public key."""
        key = card_key or Ed25519PrivateKey.generate()
        holder_file = record.encode()
        certificate = issuer_key.certify(
            serial=record.serial,
            id_number=record.id_number,
            holder_digest=hashlib.sha256(holder_file).digest(),
            photo_digest=hashlib.sha256(photo).digest(),
            card_public_key=key.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            ),
        )
        return cls(holder_file, photo, encode_certificate(certificate), key)

    def clone(self) -> CitizenCard:
        """Every readable byte copied onto another chip; the private key cannot be read."""
        return CitizenCard(
            self._files[HOLDER_FID],
            self._files[PHOTO_FID],
            self._files[CERTIFICATE_FID],
            None,
            atr=self.atr,
        )

    def reset(self) -> None:
        self._app_selected = False
        self._current_ef: int | None = None

    def process(self, apdu: bytes) -> bytes:
        try:
            cmd = _Command(apdu)
        except ValueError:
            return _sw(SW_WRONG_LENGTH)
        if cmd.cla != 0x00:
            return _sw(SW_CLA_NOT_SUPPORTED)
        handler = {
            INS_SELECT: self._select,
            INS_READ_BINARY: self._read_binary,
            INS_INTERNAL_AUTHENTICATE: self._internal_authenticate,
        }.get(cmd.ins)
        if handler is None:
            return _sw(SW_INS_NOT_SUPPORTED)
        return handler(cmd)

    def _select(self, cmd: _Command) -> bytes:
        if cmd.p1 == 0x04:  # by DF name
            if cmd.data != AID:
                self.reset()
                return _sw(SW_NOT_FOUND)
            self._app_selected, self._current_ef = True, None
            if cmd.p2 & 0x0C == 0x0C:
                return _sw(SW_OK)
            return bytes(Response(tlv.encode(0x6F, tlv.encode(0x84, AID)), SW_OK))
        if cmd.p1 in (0x00, 0x02) and len(cmd.data) == 2:
            fid = int.from_bytes(cmd.data, "big")
            if fid == MF_FID and cmd.p1 == 0x00:
                self.reset()
                return _sw(SW_OK)
            if not self._app_selected or fid not in self._files:
                return _sw(SW_NOT_FOUND)
            self._current_ef = fid
            if cmd.p2 & 0x0C == 0x0C:
                return _sw(SW_OK)
            fcp = tlv.encode(
                0x62,
                tlv.encode(0x80, len(self._files[fid]).to_bytes(2, "big"))
                + tlv.encode(0x82, b"\x01")  # transparent EF
                + tlv.encode(0x83, cmd.data),
            )
            return bytes(Response(fcp, SW_OK))
        return _sw(SW_WRONG_P1P2)

    def _read_binary(self, cmd: _Command) -> bytes:
        if cmd.p1 & 0x80:
            return _sw(SW_FUNCTION_NOT_SUPPORTED)  # short EF identifiers: not in this profile
        if self._current_ef is None:
            return _sw(SW_NO_CURRENT_EF)
        data = self._files[self._current_ef]
        offset = (cmd.p1 << 8) | cmd.p2
        if offset > len(data):
            return _sw(SW_WRONG_OFFSET)
        wanted = cmd.le or 256
        chunk = data[offset : offset + wanted]
        return bytes(Response(chunk, SW_OK if len(chunk) == wanted else SW_END_OF_FILE))

    def _internal_authenticate(self, cmd: _Command) -> bytes:
        if not self._app_selected:
            return _sw(SW_NOT_FOUND)
        if cmd.p1 != 0x00 or cmd.p2 != 0x00:
            return _sw(SW_WRONG_P1P2)
        if len(cmd.data) != CHALLENGE_LENGTH:
            return _sw(SW_WRONG_LENGTH)
        message = auth_message_from_digests(cmd.data, self._serial, *self._digests)
        return bytes(Response(self._key.sign(message), SW_OK))


def _sw(sw: int) -> bytes:
    return sw.to_bytes(2, "big")
