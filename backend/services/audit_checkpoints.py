"""Signed checkpoints of the audit log's head, kept outside the database.

A checkpoint is one JSON line: how many entries the log had, the number and
MAC of the last one, its key id, how many leading entries were legacy
(unkeyed), when, and an Ed25519 signature by the backend's checkpoint key
(backend/gov/keys.py; the public half is ``audit-checkpoint.pub.pem`` in
``FLEET_CA_DIR`` and ``GET /api/v1/audit/checkpoint-key``). Lines are appended
to ``FLEET_AUDIT_CHECKPOINT_FILE`` and, if set, POSTed to
``FLEET_AUDIT_CHECKPOINT_URL`` (a write-once log elsewhere). Someone who can
write the database but not those cannot roll the log back past a checkpoint
unnoticed.

To check a line without this code: remove ``"sig"``, serialise the rest as
JSON with sorted keys, no spaces and UTF-8, prefix
``govkiosk-audit-checkpoint/v1`` and a newline, and verify the base64
signature with the public key (Ed25519).
"""

from __future__ import annotations

import base64
import fcntl
import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from backend.gov.keys import AuditKeys, public_key_id
from backend.services.audit_chain import Finding

logger = logging.getLogger(__name__)

DOMAIN = b"govkiosk-audit-checkpoint/v1\n"


@dataclass(frozen=True)
class Checkpoint:
    entries: int
    last_seq: int
    last_mac: str
    key_id: str | None
    legacy: int
    at: str
    signer: str
    sig: str = ""
    number: int = 0  # its place in the file (1-based), not signed

    def _signed_fields(self) -> dict:
        fields = asdict(self)
        fields.pop("sig")
        fields.pop("number")
        return {"v": 1, **fields}

    def message(self) -> bytes:
        return DOMAIN + json.dumps(
            self._signed_fields(), ensure_ascii=False, sort_keys=True, separators=(",", ":")
        ).encode("utf-8")

    def line(self) -> str:
        return json.dumps({**self._signed_fields(), "sig": self.sig}, sort_keys=True)

    def verifies(self, public: Ed25519PublicKey) -> bool:
        try:
            public.verify(base64.b64decode(self.sig), self.message())
        except (InvalidSignature, ValueError):
            return False
        return True

    @property
    def label(self) -> str:
        return f"{self.at}, {self.entries} entries"


def sign(
    keys: AuditKeys,
    *,
    entries: int,
    last_seq: int,
    last_mac: str,
    key_id: str | None,
    legacy: int,
    at: str,
) -> Checkpoint:
    unsigned = Checkpoint(entries, last_seq, last_mac, key_id, legacy, at, keys.signer)
    signature = base64.b64encode(keys.checkpoint.sign(unsigned.message())).decode()
    return Checkpoint(entries, last_seq, last_mac, key_id, legacy, at, keys.signer, signature)


def parse(line: str, number: int) -> Checkpoint:
    """One line of the file; ``ValueError`` if it is not a checkpoint."""
    try:
        data = json.loads(line)
        if data.get("v") != 1:
            raise ValueError(f"unknown version {data.get('v')!r}")
        return Checkpoint(
            entries=int(data["entries"]),
            last_seq=int(data["last_seq"]),
            last_mac=str(data["last_mac"]),
            key_id=data["key_id"],
            legacy=int(data["legacy"]),
            at=str(data["at"]),
            signer=str(data["signer"]),
            sig=str(data["sig"]),
            number=number,
        )
    except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as err:
        raise ValueError(f"not a checkpoint ({err})") from err


def read(path: Path, public: Ed25519PublicKey) -> tuple[list[Checkpoint], list[Finding]]:
    """The checkpoints whose signature verifies, and a finding for every line that does not."""
    good: list[Checkpoint] = []
    bad: list[Finding] = []
    signer = public_key_id(public)
    with open(path, encoding="utf-8") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                checkpoint = parse(raw, number)
            except ValueError as err:
                bad.append(Finding("cp_unreadable", cp=number, note=str(err)))
                continue
            if checkpoint.signer != signer or not checkpoint.verifies(public):
                bad.append(Finding("cp_bad_signature", cp=number))
                continue
            good.append(checkpoint)
    return good, bad


def compare(
    checkpoints: list[Checkpoint], *, last_seq: int, legacy: int, stored: dict[int, str]
) -> list[Finding]:
    """What changed since the checkpoints: ``stored`` maps their entries to today's MACs."""
    findings: list[Finding] = []
    beyond = [c for c in checkpoints if c.last_seq > last_seq]
    if beyond:
        latest = max(beyond, key=lambda c: c.last_seq)
        findings.append(
            Finding(
                "cp_truncated",
                last_seq + 1,
                latest.last_seq,
                cp=latest.number,
                note=latest.label,
            )
        )
    changed = [
        c
        for c in checkpoints
        if c.last_seq <= last_seq and c.last_seq > 0 and stored.get(c.last_seq) != c.last_mac
    ]
    if changed:
        first = changed[0]
        more = f"; {len(changed) - 1} later checkpoints disagree too" if len(changed) > 1 else ""
        findings.append(
            Finding("cp_changed", first.last_seq, cp=first.number, note=first.label + more)
        )
    fewer = [c for c in checkpoints if c.legacy < legacy]  # new entries are always keyed
    if fewer:
        first = fewer[0]
        findings.append(
            Finding("cp_unkeyed", legacy, first.legacy, cp=first.number, note=first.label)
        )
    return findings


def append(path: Path, checkpoint: Checkpoint) -> None:
    """Append one line, durably; concurrent writers take turns (flock)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, (checkpoint.line() + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def post(url: str, checkpoint: Checkpoint, *, client: httpx.Client | None = None) -> bool:
    """POST the checkpoint as JSON to the external log; False (logged) if it was refused."""
    try:
        if client is None:
            with httpx.Client(timeout=10) as own:
                response = own.post(url, json=json.loads(checkpoint.line()))
        else:
            response = client.post(url, json=json.loads(checkpoint.line()))
        response.raise_for_status()
    except httpx.HTTPError as err:
        logger.warning("audit checkpoint not delivered to %s: %s", url, err)
        return False
    return True
