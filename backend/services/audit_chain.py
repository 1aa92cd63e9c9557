"""The audit chain's arithmetic and its reading: MACs, field tags, and the walk that names damage.

No database here. ``Walker`` is fed the entries in sequence order and
collects ``Finding``s; backend/services/audit.py reads the rows for it.

An entry's ``hash`` is HMAC-SHA256, under the key named by its ``key_id``,
over the previous entry's ``hash`` and the entry's canonical JSON. Its
``tags`` are one 64-bit HMAC per field (time, actor, action, target,
detail), each bound to the entry's number: a rewritten field fails its own
tag (so the field is named), an entry moved to another number fails every
tag but one number makes them fit again (so the move is named), and a chain
recomputed with plain SHA-256 fails the MACs (re-chaining needs the key).
Entries without a ``key_id`` are the legacy, unkeyed SHA-256 chain of
earlier versions: verified as such, and labelled so.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from backend.gov.keys import AuditKeys

GENESIS = "0" * 64
FIELDS = ("ts", "actor", "action", "target", "detail")
TAG_HEX = 16  # 64 bits per field: enough to name a field, the entry MAC guards the whole
LOCATE_WINDOW = 4096  # how far from its number a moved entry is looked for
LOCATE_BUDGET = 200_000  # field MACs spent looking for moved entries in one walk


class EntryRow(Protocol):
    seq: int
    ts: datetime
    actor: str
    action: str
    target: str | None
    detail: Any
    prev_hash: str
    hash: str
    key_id: str | None
    tags: str | None


def ts_text(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _canonical(
    seq: int, ts: datetime, actor: str, action: str, target: str | None, detail: Any
) -> bytes:
    return _dumps(
        {
            "seq": seq,
            "ts": ts_text(ts),
            "actor": actor,
            "action": action,
            "target": target,
            "detail": detail,
        }
    )


def legacy_hash(
    prev_hash: str, seq: int, ts: datetime, actor: str, action: str, target: str | None, detail: Any
) -> str:
    """The unkeyed SHA-256 link of entries written before the audit key existed."""
    return hashlib.sha256(
        prev_hash.encode() + _canonical(seq, ts, actor, action, target, detail)
    ).hexdigest()


def entry_mac(
    key: bytes,
    key_id: str,
    prev_hash: str,
    seq: int,
    ts: datetime,
    actor: str,
    action: str,
    target: str | None,
    detail: Any,
) -> str:
    message = b"\x00".join(
        [
            b"govkiosk-audit-entry/v2",
            key_id.encode(),
            prev_hash.encode(),
            _canonical(seq, ts, actor, action, target, detail),
        ]
    )
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _field_values(ts: datetime, actor: str, action: str, target: str | None, detail: Any) -> dict:
    return {"ts": ts_text(ts), "actor": actor, "action": action, "target": target, "detail": detail}


def field_tag(key: bytes, key_id: str, seq: int, name: str, value: Any) -> str:
    message = b"\x00".join(
        [
            b"govkiosk-audit-field/v2",
            key_id.encode(),
            str(seq).encode(),
            name.encode(),
            _dumps(value),
        ]
    )
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:TAG_HEX]


def field_tags(
    key: bytes,
    key_id: str,
    seq: int,
    ts: datetime,
    actor: str,
    action: str,
    target: str | None,
    detail: Any,
) -> str:
    values = _field_values(ts, actor, action, target, detail)
    return "".join(field_tag(key, key_id, seq, name, values[name]) for name in FIELDS)


def head_mac(key: bytes, key_id: str, last_seq: int, last_hash: str) -> str:
    message = b"\x00".join(
        [b"govkiosk-audit-head/v2", key_id.encode(), str(last_seq).encode(), last_hash.encode()]
    )
    return hmac.new(key, message, hashlib.sha256).hexdigest()


# What a walk can find. English for the CLI and logs, Chinese for the ops pages and the API.
TEXTS: dict[str, tuple[str, str]] = {
    "missing": (
        "{entries} {are} missing",
        "{entries_zh}记录缺失（被删除）",
    ),
    "renumbered": (
        "{entries} {are} {was_entries}, renumbered (entries before them were removed or inserted)",
        "{entries_zh}原是{was_entries_zh}，被重新编号（其前有记录被删除或插入）",
    ),
    "swapped": (
        "entries {seq} and {was} were swapped",
        "第 {seq} 条与第 {was} 条被互换",
    ),
    "rewritten": (
        "entry {seq} was rewritten: {fields} changed",
        "第 {seq} 条被改写：{fields_zh}被修改",
    ),
    "rechained": (
        "{entries}: MAC does not verify with key {note}: the chain was recomputed without the key (re-chained)",
        "{entries_zh}的 MAC 用密钥 {note} 校验不通过：哈希链被无密钥地重新计算（重链）",
    ),
    "forged": (
        "entry {seq} is forged: none of its MACs verifies (not written by the backend)",
        "第 {seq} 条为伪造：其 MAC 均不通过（并非后端写入）",
    ),
    "unkeyed": (
        "entry {seq} is unkeyed but follows keyed entries: inserted or rewritten without the key",
        "第 {seq} 条无密钥，却位于有密钥的记录之后：系无密钥插入或改写",
    ),
    "unknown_key": (
        "entry {seq} names an unknown key {note}",
        "第 {seq} 条使用未知密钥 {note}",
    ),
    "key_unavailable": (
        "entries from {seq} on are keyed but the audit key is unavailable ({note}): they cannot be checked",
        "第 {seq} 条起为有密钥记录，但审计密钥不可用（{note}），无法校验",
    ),
    "legacy_changed": (
        "legacy entry {seq} was changed (SHA-256 mismatch)",
        "旧版（无密钥）第 {seq} 条被修改（SHA-256 不符）",
    ),
    "broken_link": (
        "entry {seq} does not follow entry {prev}",
        "第 {seq} 条与第 {prev} 条衔接不上",
    ),
    "head_behind": (
        "the log ends at entry {prev} but its head says {end}: {entries} {were} removed",
        "日志止于第 {prev} 条，但链头记为第 {end} 条：{entries_zh}被删除",
    ),
    "beyond_head": (
        "{entries} {are} beyond the head (entry {prev}): added without the backend",
        "{entries_zh}位于链头（第 {prev} 条）之后：并非经后端写入",
    ),
    "head_mac": (
        "the head (entry {seq}) does not verify with the key: it was rewritten, the newest entries were probably removed",
        "链头（第 {seq} 条）的 MAC 校验不通过：链头被改写，最新的记录很可能被删除",
    ),
    "head_missing": (
        "the audit head row is missing",
        "审计链头缺失",
    ),
    "cp_truncated": (
        "checkpoint #{cp} ({note}) recorded {end} entries but the log ends at entry {prev}: {entries} {were} removed since",
        "检查点 #{cp}（{note}）记录了 {end} 条，但日志止于第 {prev} 条：此后{entries_zh}被删除",
    ),
    "cp_changed": (
        "entry {seq} differs from checkpoint #{cp} ({note}): the log up to it was changed or re-chained since",
        "第 {seq} 条与检查点 #{cp}（{note}）不符：此后该条及之前的记录被修改或重链",
    ),
    "cp_unkeyed": (
        "checkpoint #{cp} ({note}) recorded {end} legacy entries, the log now has {seq}: keyed entries were replaced by unkeyed ones",
        "检查点 #{cp}（{note}）记录旧版无密钥记录 {end} 条，现有 {seq} 条：有密钥的记录被替换为无密钥记录",
    ),
    "cp_bad_signature": (
        "checkpoint #{cp} (line {cp} of the file) has a bad signature: forged or altered",
        "检查点 #{cp}（文件第 {cp} 行）签名校验失败：被伪造或篡改",
    ),
    "cp_unreadable": (
        "checkpoint line {cp} cannot be read: {note}",
        "检查点文件第 {cp} 行无法读取：{note}",
    ),
}

FIELD_NAMES_ZH = {
    "ts": "时间",
    "actor": "操作人",
    "action": "操作",
    "target": "对象",
    "detail": "详情",
}


@dataclass(frozen=True)
class Finding:
    """One thing wrong with the log: its kind (a key of ``TEXTS``) and where."""

    kind: str
    seq: int | None = None
    end: int | None = None
    was: int | None = None
    fields: tuple[str, ...] = ()
    note: str = ""
    cp: int | None = None

    def _values(self) -> dict[str, Any]:
        end = self.end if self.end is not None else self.seq
        span = (end or 0) - (self.seq or 0)
        return {
            "seq": self.seq,
            "end": end,
            "was": self.was,
            "was_end": (self.was or 0) + span,
            "prev": (self.seq or 1) - 1,
            "entries": f"entry {self.seq}" if span == 0 else f"entries {self.seq}..{end}",
            "were": "was" if span == 0 else "were",
            "are": "is" if span == 0 else "are",
            "was_entries": f"entry {self.was}"
            if span == 0
            else f"entries {self.was}..{(self.was or 0) + span}",
            "entries_zh": f"第 {self.seq} 条" if span == 0 else f"第 {self.seq}–{end} 条",
            "was_entries_zh": f"第 {self.was} 条"
            if span == 0
            else f"第 {self.was}–{(self.was or 0) + span} 条",
            "fields": ", ".join(self.fields),
            "fields_zh": "、".join(FIELD_NAMES_ZH.get(f, f) for f in self.fields),
            "note": self.note,
            "cp": self.cp,
        }

    @property
    def text(self) -> str:
        return TEXTS[self.kind][0].format(**self._values())

    @property
    def text_zh(self) -> str:
        return TEXTS[self.kind][1].format(**self._values())


@dataclass
class Walker:
    """Checks entries fed in sequence order; ``finish`` returns what was found.

    Starts at the genesis, or after an anchor (a checkpoint's entry, MAC and
    legacy count) to check only what came since. ``watch`` names entries whose
    stored MAC is remembered (the checkpoints' entries).
    """

    keys: AuditKeys | None
    key_error: str = ""
    prev: str = GENESIS
    expected: int = 1
    legacy: int = 0
    keyed: int = 0
    watch: frozenset[int] = frozenset()
    watched: dict[int, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    last_key_id: str | None = None
    _flagged_prev: bool = False
    _moves: list[tuple[int, int]] = field(default_factory=list)
    _rechained: list[tuple[int, str]] = field(default_factory=list)
    _last_delta: int = 0
    _budget: int = LOCATE_BUDGET
    _key_missing_said: bool = False

    @property
    def last_seq(self) -> int:
        return self.expected - 1

    def feed(self, row: EntryRow) -> None:
        gap = row.seq != self.expected
        if gap:
            self.findings.append(Finding("missing", self.expected, row.seq - 1))
        if row.seq in self.watch:
            self.watched[row.seq] = row.hash
        flagged = self._legacy(row, gap) if row.key_id is None else self._keyed(row, gap)
        self.prev, self.expected, self._flagged_prev = row.hash, row.seq + 1, flagged
        self.last_key_id = row.key_id

    def _legacy(self, row: EntryRow, gap: bool) -> bool:
        if self.keyed:
            self.findings.append(Finding("unkeyed", row.seq))
            return True
        self.legacy += 1
        if row.prev_hash != self.prev and not gap and not self._flagged_prev:
            self.findings.append(Finding("broken_link", row.seq))
            return True
        digest = legacy_hash(
            row.prev_hash, row.seq, row.ts, row.actor, row.action, row.target, row.detail
        )
        if digest != row.hash:
            self.findings.append(Finding("legacy_changed", row.seq))
            return True
        return False

    def _keyed(self, row: EntryRow, gap: bool) -> bool:
        self.keyed += 1
        kid = row.key_id or ""
        if self.keys is None:
            if not self._key_missing_said:
                self.findings.append(Finding("key_unavailable", row.seq, note=self.key_error))
                self._key_missing_said = True
            return False
        key = self.keys.mac_key(kid)
        if key is None:
            self.findings.append(Finding("unknown_key", row.seq, note=kid))
            return True
        bad = self._bad_fields(key, kid, row, row.seq)
        if len(bad) == len(FIELDS):
            was = self._locate(key, kid, row)
            if was is None:
                self.findings.append(Finding("forged", row.seq))
            else:
                self._moves.append((row.seq, was))
            return True
        if bad:
            self.findings.append(Finding("rewritten", row.seq, fields=tuple(bad)))
            return True
        flagged = False
        if row.prev_hash != self.prev and not gap and not self._flagged_prev:
            self.findings.append(Finding("broken_link", row.seq))
            flagged = True
        mac = entry_mac(
            key, kid, row.prev_hash, row.seq, row.ts, row.actor, row.action, row.target, row.detail
        )
        if not hmac.compare_digest(mac, row.hash):
            self._rechained.append((row.seq, kid))
            flagged = True
        return flagged

    @staticmethod
    def _bad_fields(key: bytes, kid: str, row: EntryRow, seq: int) -> list[str]:
        tags = row.tags or ""
        if len(tags) != TAG_HEX * len(FIELDS):
            return list(FIELDS)
        values = _field_values(row.ts, row.actor, row.action, row.target, row.detail)
        return [
            name
            for i, name in enumerate(FIELDS)
            if not hmac.compare_digest(
                field_tag(key, kid, seq, name, values[name]), tags[i * TAG_HEX : (i + 1) * TAG_HEX]
            )
        ]

    def _locate(self, key: bytes, kid: str, row: EntryRow) -> int | None:
        """The number this entry was written under, if it was moved; None if it never was ours."""
        tags = row.tags or ""
        if len(tags) != TAG_HEX * len(FIELDS):
            return None
        want = tags[TAG_HEX : 2 * TAG_HEX]  # the actor's tag; a hit is then confirmed in full
        deltas = [self._last_delta] if self._last_delta else []
        deltas += [d for k in range(1, LOCATE_WINDOW + 1) for d in (k, -k)]
        for delta in deltas:
            if self._budget <= 0:
                return None
            candidate = row.seq + delta
            if candidate < 1:
                continue
            self._budget -= 1
            if field_tag(key, kid, candidate, "actor", row.actor) == want and not self._bad_fields(
                key, kid, row, candidate
            ):
                self._last_delta = delta
                return candidate
        return None

    def finish(self) -> list[Finding]:
        findings = list(self.findings)
        moved = dict(self._moves)
        done: set[int] = set()
        run: list[tuple[int, int]] = []

        def close_run() -> None:
            if run:
                start, was = run[0]
                findings.append(Finding("renumbered", start, run[-1][0], was=was))
                run.clear()

        for seq, was in self._moves:
            if seq in done:
                continue
            if moved.get(was) == seq:
                close_run()
                findings.append(Finding("swapped", min(seq, was), was=max(seq, was)))
                done.update((seq, was))
                continue
            if run and (seq != run[-1][0] + 1 or was - seq != run[-1][1] - run[-1][0]):
                close_run()
            run.append((seq, was))
        close_run()
        start = None
        for i, (seq, kid) in enumerate(self._rechained):
            if start is None:
                start = seq
            following = self._rechained[i + 1] if i + 1 < len(self._rechained) else None
            if following is None or following[0] != seq + 1 or following[1] != kid:
                findings.append(Finding("rechained", start, seq, note=kid))
                start = None
        return sorted(findings, key=lambda f: (f.seq is None, f.seq or 0))
