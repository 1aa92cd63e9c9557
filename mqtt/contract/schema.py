"""JSON Schema of the envelope and of each message kind.

Each kind's schema is the envelope with ``kind`` fixed and ``body`` replaced by
that kind's body schema, so a schema validates a whole message as it travels.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mqtt.contract.envelope import MAX_MESSAGE_BYTES, Envelope
from mqtt.contract.messages import KINDS, Kind

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def envelope_schema() -> dict[str, Any]:
    schema = Envelope.model_json_schema()
    schema["$schema"] = SCHEMA_DIALECT
    schema["title"] = "Envelope (contract v1)"
    schema["description"] = f"Every MQTT message of contract v1; at most {MAX_MESSAGE_BYTES} bytes."
    return schema


def kind_schema(kind: Kind) -> dict[str, Any]:
    schema = envelope_schema()
    body = kind.model.model_json_schema(ref_template="#/$defs/{model}")
    defs = body.pop("$defs", {})
    schema["title"] = f"{kind.name} (contract v1, on kiosk/{{id}}/{kind.channel.value})"
    schema["description"] = kind.summary
    schema["properties"]["kind"] = {"const": kind.name, "title": "Kind", "type": "string"}
    schema["properties"]["body"] = body
    if defs:
        schema["$defs"] = {**schema.get("$defs", {}), **defs}
    return schema


def all_schemas() -> dict[str, dict[str, Any]]:
    """File name -> schema, for every kind and the bare envelope."""
    out = {"envelope.schema.json": envelope_schema()}
    for kind in KINDS.values():
        out[f"{kind.name}.schema.json"] = kind_schema(kind)
    return out


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def export(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in all_schemas().items():
        path = directory / name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written
