"""``mqtt-contract``: look at and export the MQTT contract."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mqtt.contract.messages import KINDS
from mqtt.contract.schema import export


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mqtt-contract", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    exp = sub.add_parser("export-schemas", help="write one JSON Schema per message kind")
    exp.add_argument("directory", type=Path, help="folder to write *.schema.json into")
    sub.add_parser("kinds", help="list the message kinds and their channels")
    args = parser.parse_args(argv)

    if args.command == "export-schemas":
        for path in export(args.directory):
            print(path)
    else:
        for kind in KINDS.values():
            print(f"{kind.name:24} kiosk/{{id}}/{kind.channel.value:14} {kind.summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
