"""The MQTT side of the appliance, shared by kiosk and backend.

- ``mqtt.contract``: the wire contract (topics, envelope, message kinds, JSON
  Schemas). Both sides import it; nothing else defines a topic or a payload.
- ``mqtt.outbox``: the kiosk's durable outbox in SQLite.
- ``mqtt.client``: the paho-mqtt plumbing both sides share (URLs, sessions,
  reconnection with backoff and jitter).
- ``mqtt.agent``: ``kiosk-agent``, which drains the outbox to the broker.
- ``mqtt.broker``: runs a local Mosquitto for the demo, tests and benchmarks.
"""
