"""Ingest: MQTT messages in, rows out, acknowledgements back.

``pipeline`` turns a batch of raw messages into rows in one transaction (this
is where an event becomes a row, and where an invalid message becomes a
dead letter); ``consumer`` is the MQTT side: a shared subscription, batches,
manual acknowledgements to the broker after commit, and ``events/ack`` to
each kiosk so its outbox can let go.
"""
