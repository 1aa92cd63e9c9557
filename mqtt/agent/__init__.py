"""``kiosk-agent``: the kiosk's link to the fleet backend.

It drains the outbox to ``kiosk/{id}/events`` in order at QoS 1 and deletes an
event only when ingest reports it stored (``kiosk/{id}/events/ack``). A PUBACK
only says the broker has the message; a broker restarted without persistence,
or a shared-subscription consumer that died and never came back, can still
lose it. So an event unconfirmed after ``ack_timeout_s`` is sent again, and
ingest, which keys events by id, stores it once however often it arrives.

It also publishes a retained status (online; its last will says offline), a
health snapshot every ``health_interval_s`` and runs remote commands.
"""
