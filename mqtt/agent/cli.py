"""``kiosk-agent``: run the kiosk's MQTT agent until SIGTERM or Ctrl-C.

Configuration comes from KIOSK_* environment variables (see README).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from pydantic import ValidationError

from mqtt.agent.agent import Agent
from mqtt.agent.config import AgentSettings
from mqtt.client import tune_for_message_throughput


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kiosk-agent", description=__doc__)
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING (default INFO)")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,  # a vendor library may have configured the root logger on import
    )
    try:
        settings = AgentSettings()
    except ValidationError as err:
        print(f"kiosk-agent: bad configuration:\n{err}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    tune_for_message_throughput()
    Agent(settings).run(stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
