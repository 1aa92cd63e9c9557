"""The kiosk's citizen-card application, seen from the reader: layout and reading.

SPEC.md is the prose; this module is the one place where the AID, file ids,
tags and command sequence live in code. The card side (``applet``) imports the
layout from here, so the two cannot drift apart.

``read_identity`` returns a ``CardIdentity`` only after every byte was read,
the card proved genuine and the data checked out; any failure on the way
raises and nothing partial escapes. ``prove`` asks the card in the reader for
one more answer, to a challenge the caller chose (an application made offline
carries it to the backend).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import IntEnum

from devices.card import tlv
from devices.card.apdu import (
    SW_NOT_FOUND,
    SW_OK,
    ApduTransport,
    Response,
    command,
    transceive,
)
from devices.card.auth import (
    CHALLENGE_LENGTH,
    CardCertificate,
    CardProof,
    IssuerPublicKey,
    auth_message_from_digests,
    card_signature_valid,
    new_challenge,
)
from devices.card.identity import (
    LONG_TERM,
    CardIdentity,
    check_consistency,
    check_id_number,
    check_validity,
)
from devices.errors import CardDataInvalid, CardNotAuthentic, CardRemoved, CardUnsupported

logger = logging.getLogger(__name__)

# "F0" marks a proprietary, unregistered AID (ISO/IEC 7816-5); then "GOVKIOSK", version 01.
AID = bytes.fromhex("F0") + b"GOVKIOSK" + bytes([0x01])
HOLDER_FID = 0x0101
PHOTO_FID = 0x0102
CERTIFICATE_FID = 0x0103
MAX_FILE_SIZE = 0x7FFF  # READ BINARY with a 15-bit offset in P1-P2
READ_CHUNK = 0xF0  # Le per READ BINARY; small enough for every reader we met

INS_SELECT = 0xA4
INS_READ_BINARY = 0xB0
INS_INTERNAL_AUTHENTICATE = 0x88

HOLDER_TEMPLATE = 0x70
FORMAT_VERSION = 1
DATE_FORMAT_LENGTH = 8  # YYYYMMDD


CERTIFICATE_TEMPLATE = 0x7F21  # as the card-verifiable certificates of ISO/IEC 7816-8


class HolderTag(IntEnum):
    """Context-specific tags inside the holder template (tag 70)."""

    VERSION = 0x80
    SERIAL = 0x81
    NAME = 0x82
    ID_NUMBER = 0x83
    SEX = 0x84
    ETHNICITY = 0x85
    BIRTH_DATE = 0x86
    ADDRESS = 0x87
    AUTHORITY = 0x88
    VALID_FROM = 0x89
    VALID_UNTIL = 0x8A


@dataclass(frozen=True, repr=False)
class HolderRecord:
    """The holder file's fields as stored (strings as printed, dates as YYYYMMDD)."""

    serial: bytes
    name: str
    id_number: str
    sex: str
    ethnicity: str
    birth_date: str
    address: str
    issuing_authority: str
    valid_from: str
    valid_until: str  # YYYYMMDD or 长期

    def encode(self) -> bytes:
        fields = [
            (HolderTag.VERSION, bytes([FORMAT_VERSION])),
            (HolderTag.SERIAL, self.serial),
            (HolderTag.NAME, self.name.encode()),
            (HolderTag.ID_NUMBER, self.id_number.encode()),
            (HolderTag.SEX, self.sex.encode()),
            (HolderTag.ETHNICITY, self.ethnicity.encode()),
            (HolderTag.BIRTH_DATE, self.birth_date.encode()),
            (HolderTag.ADDRESS, self.address.encode()),
            (HolderTag.AUTHORITY, self.issuing_authority.encode()),
            (HolderTag.VALID_FROM, self.valid_from.encode()),
            (HolderTag.VALID_UNTIL, self.valid_until.encode()),
        ]
        return tlv.encode(HOLDER_TEMPLATE, b"".join(tlv.encode(t, v) for t, v in fields))

    @classmethod
    def decode(cls, data: bytes) -> HolderRecord:
        """Strict: unknown tags are ignored (newer minor versions), missing or repeated
        ones, bad UTF-8 or a different major version raise CardDataInvalid."""
        try:
            outer = tlv.decode(data)
            if len(outer) != 1 or outer[0][0] != HOLDER_TEMPLATE:
                raise CardDataInvalid("holder file is not one holder template (tag 70)")
            values: dict[int, bytes] = {}
            for tag, value in tlv.decode(outer[0][1]):
                if tag in values:
                    raise CardDataInvalid(f"holder tag {tag:#x} repeated")
                values[tag] = value
        except tlv.TlvError as err:
            raise CardDataInvalid(f"holder file is not valid BER-TLV: {err}") from err
        missing = [t.name for t in HolderTag if t not in values]
        if missing:
            raise CardDataInvalid(f"holder file lacks {', '.join(missing)}")
        if values[HolderTag.VERSION] != bytes([FORMAT_VERSION]):
            raise CardDataInvalid(f"holder file version {values[HolderTag.VERSION].hex()}")
        try:
            text = {t: values[t].decode("utf-8") for t in HolderTag if t > HolderTag.SERIAL}
        except UnicodeDecodeError as err:
            raise CardDataInvalid(f"holder file has invalid UTF-8: {err.reason}") from err
        return cls(
            serial=values[HolderTag.SERIAL],
            name=text[HolderTag.NAME],
            id_number=text[HolderTag.ID_NUMBER],
            sex=text[HolderTag.SEX],
            ethnicity=text[HolderTag.ETHNICITY],
            birth_date=text[HolderTag.BIRTH_DATE],
            address=text[HolderTag.ADDRESS],
            issuing_authority=text[HolderTag.AUTHORITY],
            valid_from=text[HolderTag.VALID_FROM],
            valid_until=text[HolderTag.VALID_UNTIL],
        )


class CertificateTag(IntEnum):
    """Tags inside the card certificate template (tag 7F21)."""

    VERSION = 0x80
    SERIAL = 0x81
    ID_NUMBER = 0x83
    HOLDER_DIGEST = 0x90
    PHOTO_DIGEST = 0x91
    CARD_PUBLIC_KEY = 0x92
    SIGNATURE = 0x5F37


def encode_certificate(certificate: CardCertificate) -> bytes:
    fields = [
        (CertificateTag.VERSION, bytes([FORMAT_VERSION])),
        (CertificateTag.SERIAL, certificate.serial),
        (CertificateTag.ID_NUMBER, certificate.id_number.encode()),
        (CertificateTag.HOLDER_DIGEST, certificate.holder_digest),
        (CertificateTag.PHOTO_DIGEST, certificate.photo_digest),
        (CertificateTag.CARD_PUBLIC_KEY, certificate.card_public_key),
        (CertificateTag.SIGNATURE, certificate.signature),
    ]
    return tlv.encode(CERTIFICATE_TEMPLATE, b"".join(tlv.encode(t, v) for t, v in fields))


def decode_certificate(data: bytes) -> CardCertificate:
    """Strict like the holder file; a certificate that cannot even be parsed is no proof,
    so every failure here is ``CardNotAuthentic`` (reason ``certificate``)."""
    try:
        outer = tlv.decode(data)
        if len(outer) != 1 or outer[0][0] != CERTIFICATE_TEMPLATE:
            raise ValueError("not one certificate template (tag 7F21)")
        values: dict[int, bytes] = {}
        for tag, value in tlv.decode(outer[0][1]):
            if tag in values:
                raise ValueError(f"tag {tag:#x} repeated")
            values[tag] = value
        missing = [t.name for t in CertificateTag if t not in values]
        if missing:
            raise ValueError(f"lacks {', '.join(missing)}")
        if values[CertificateTag.VERSION] != bytes([FORMAT_VERSION]):
            raise ValueError(f"version {values[CertificateTag.VERSION].hex()}")
        return CardCertificate(
            serial=values[CertificateTag.SERIAL],
            id_number=values[CertificateTag.ID_NUMBER].decode("ascii"),
            holder_digest=values[CertificateTag.HOLDER_DIGEST],
            photo_digest=values[CertificateTag.PHOTO_DIGEST],
            card_public_key=values[CertificateTag.CARD_PUBLIC_KEY],
            signature=values[CertificateTag.SIGNATURE],
        )
    except (tlv.TlvError, ValueError) as err:  # UnicodeDecodeError is a ValueError
        raise CardNotAuthentic(f"card certificate unusable: {err}", reason="certificate") from err


def read_identity(
    transport: ApduTransport,
    issuer_key: IssuerPublicKey,
    *,
    today: Callable[[], date] = date.today,
    challenge: Callable[[], bytes] = new_challenge,
) -> CardIdentity:
    """Select the application, read both files, authenticate the card, check the data.

    Checks run in the order that gives the most useful answer: a clone is
    reported as not authentic even if it is also expired.
    """
    _select_application(transport)
    holder_file = _read_file(transport, HOLDER_FID)
    photo = _read_file(transport, PHOTO_FID)
    certificate = _read_certificate(transport)
    record = HolderRecord.decode(holder_file)
    _check_certificate(issuer_key, certificate, record)
    _authenticate(transport, certificate, challenge())
    _check_files(certificate, holder_file, photo)
    identity = _to_identity(record, photo)
    check_validity(identity.valid_from, identity.valid_until, today())
    # repr() now: a log record keeps its arguments (Kivy's LoggerHistory keeps the last 100),
    # and the object would keep the citizen's data alive after the session.
    logger.info("card read and authenticated: %s", repr(identity))
    return identity


def _select_application(transport: ApduTransport) -> None:
    response = transceive(transport, command(0x00, INS_SELECT, 0x04, 0x0C, AID))
    if response.sw != SW_OK:
        # 6A82 from an ISO 7816 card without our application; anything else from
        # cards that do not even speak SELECT by name. Both: not our card.
        raise CardUnsupported(f"SELECT of the citizen-card application: SW {response.sw:04X}")


def _read_file(transport: ApduTransport, fid: int) -> bytes:
    response = transceive(
        transport, command(0x00, INS_SELECT, 0x02, 0x04, fid.to_bytes(2, "big"), le=256)
    )
    if response.sw == SW_NOT_FOUND:
        raise CardDataInvalid(f"file {fid:04X} missing")
    _expect_ok(response, f"SELECT file {fid:04X}")
    size = _file_size(response.data, fid)
    data = bytearray()
    while len(data) < size:
        chunk = min(READ_CHUNK, size - len(data))
        offset = len(data)
        response = transceive(
            transport, command(0x00, INS_READ_BINARY, offset >> 8, offset & 0xFF, le=chunk)
        )
        _expect_ok(response, f"READ BINARY {fid:04X} at {offset}")
        if not response.data:
            raise CardDataInvalid(f"file {fid:04X} ended at {offset} of {size} bytes")
        data += response.data
    if len(data) != size:
        raise CardDataInvalid(f"file {fid:04X}: read {len(data)} bytes, announced {size}")
    return bytes(data)


def _file_size(fcp: bytes, fid: int) -> int:
    try:
        template = tlv.find(fcp, 0x62)
        size_bytes = tlv.find(template, 0x80) if template is not None else None
    except tlv.TlvError as err:
        raise CardDataInvalid(f"file {fid:04X}: bad FCP: {err}") from err
    if not size_bytes:
        raise CardDataInvalid(f"file {fid:04X}: FCP without file size")
    size = int.from_bytes(size_bytes, "big")
    if size > MAX_FILE_SIZE:
        raise CardDataInvalid(f"file {fid:04X}: {size} bytes is over the {MAX_FILE_SIZE} limit")
    return size


def prove(
    transport: ApduTransport,
    issuer_key: IssuerPublicKey,
    challenge: bytes,
    *,
    expected_serial: bytes | None = None,
) -> CardProof:
    """A fresh answer of the card to ``challenge``, checked here before it is handed out.

    Reads only the certificate (not the photo again): the certificate binds
    the files' digests, and ``read_identity`` already checked the files
    against it. A card with another serial than ``expected_serial`` is not the
    citizen's card: ``CardRemoved``.
    """
    _select_application(transport)
    certificate = _read_certificate(transport)
    if expected_serial is not None and not hmac.compare_digest(certificate.serial, expected_serial):
        raise CardRemoved(
            f"another card ({certificate.serial.hex().upper()}) is in the reader, "
            f"not {expected_serial.hex().upper()}"
        )
    if not issuer_key.verify_certificate(certificate):
        raise CardNotAuthentic(
            f"card {certificate.serial.hex().upper()}: certificate not signed by the issuer",
            reason="certificate",
        )
    signature = _authenticate(transport, certificate, challenge)
    return CardProof(
        serial=certificate.serial,
        holder_digest=certificate.holder_digest,
        photo_digest=certificate.photo_digest,
        card_public_key=certificate.card_public_key,
        certificate_signature=certificate.signature,
        challenge=challenge,
        signature=signature,
    )


def _read_certificate(transport: ApduTransport) -> CardCertificate:
    try:
        data = _read_file(transport, CERTIFICATE_FID)
    except CardDataInvalid as err:
        # A card without its certificate cannot prove anything: not authentic, not "unreadable".
        raise CardNotAuthentic(f"card certificate: {err}", reason="certificate") from err
    return decode_certificate(data)


def _check_certificate(
    issuer_key: IssuerPublicKey, certificate: CardCertificate, record: HolderRecord
) -> None:
    serial = record.serial.hex().upper()
    if certificate.serial != record.serial or (
        certificate.id_number.upper() != record.id_number.strip().upper()
    ):
        raise CardNotAuthentic(
            f"card {serial}: the certificate names another card or holder", reason="certificate"
        )
    if not issuer_key.verify_certificate(certificate):
        raise CardNotAuthentic(
            f"card {serial}: certificate not signed by the issuer", reason="certificate"
        )


def _authenticate(
    transport: ApduTransport, certificate: CardCertificate, challenge: bytes
) -> bytes:
    """INTERNAL AUTHENTICATE; the card's signature, checked against its certified key."""
    if len(challenge) != CHALLENGE_LENGTH:
        raise ValueError("challenge must be 16 bytes")
    response = transceive(
        transport, command(0x00, INS_INTERNAL_AUTHENTICATE, 0x00, 0x00, challenge, le=256)
    )
    if response.sw != SW_OK:
        raise CardNotAuthentic(f"INTERNAL AUTHENTICATE refused: SW {response.sw:04X}")
    message = auth_message_from_digests(
        challenge, certificate.serial, certificate.holder_digest, certificate.photo_digest
    )
    if not card_signature_valid(certificate.card_public_key, message, response.data):
        raise CardNotAuthentic(
            f"card {certificate.serial.hex().upper()} failed the challenge-response",
            reason="signature",
        )
    return response.data


def _check_files(certificate: CardCertificate, holder_file: bytes, photo: bytes) -> None:
    """The files read must be those the issuer certified (a relay serving another photo fails)."""
    for what, data, digest in (
        ("holder file", holder_file, certificate.holder_digest),
        ("photo", photo, certificate.photo_digest),
    ):
        if not hmac.compare_digest(hashlib.sha256(data).digest(), digest):
            raise CardNotAuthentic(
                f"card {certificate.serial.hex().upper()}: the {what} read is not the certified one",
                reason="files",
            )


def _to_identity(record: HolderRecord, photo: bytes) -> CardIdentity:
    id_number = check_id_number(record.id_number)
    birth_date = _parse_date(record.birth_date, "birth date")
    check_consistency(id_number, birth_date, record.sex)
    if not (photo.startswith(b"\xff\xd8") and photo.rstrip(b"\x00").endswith(b"\xff\xd9")):
        raise CardDataInvalid("photo file is not a JPEG image")
    valid_until = (
        None if record.valid_until == LONG_TERM else _parse_date(record.valid_until, "validity end")
    )
    return CardIdentity(
        name=record.name,
        id_number=id_number,
        sex=record.sex,
        ethnicity=record.ethnicity,
        birth_date=birth_date,
        address=record.address,
        issuing_authority=record.issuing_authority,
        valid_from=_parse_date(record.valid_from, "validity start"),
        valid_until=valid_until,
        serial=record.serial.hex().upper(),
        photo=photo,
    )


def _parse_date(text: str, what: str) -> date:
    if len(text) != DATE_FORMAT_LENGTH or not text.isdigit():
        raise CardDataInvalid(f"{what} {text!r} is not YYYYMMDD")
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError as err:
        raise CardDataInvalid(f"{what} {text!r} is not a date") from err


def _expect_ok(response: Response, what: str) -> None:
    if not response.ok:
        raise CardDataInvalid(f"{what}: SW {response.sw:04X}")
