"""The exported JSON Schemas are current, and they agree with the models."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from mqtt.contract.messages import KINDS
from mqtt.contract.schema import all_schemas, render

SCHEMAS = Path(__file__).resolve().parents[3] / "mqtt" / "schemas"
CLI = Path(sys.executable).parent / "mqtt-contract"


def test_committed_schemas_are_current() -> None:
    expected = all_schemas()
    committed = {p.name for p in SCHEMAS.glob("*.schema.json")}
    assert committed == set(expected), "run `make schemas`"
    for name, schema in expected.items():
        assert (SCHEMAS / name).read_text(encoding="utf-8") == render(schema), (
            f"{name}: run `make schemas`"
        )


def test_every_kind_has_a_schema_fixing_its_kind() -> None:
    schemas = all_schemas()
    for kind in KINDS:
        schema = schemas[f"{kind}.schema.json"]
        assert schema["properties"]["kind"]["const"] == kind
        assert schema["properties"]["body"]["type"] == "object"


def test_the_cli_exports_the_schemas(tmp_path: Path) -> None:
    result = subprocess.run(
        [CLI, "export-schemas", str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert len(result.stdout.splitlines()) == len(KINDS) + 1
    health = json.loads((tmp_path / "health.schema.json").read_text())
    assert "outbox_depth" in health["properties"]["body"]["properties"]
