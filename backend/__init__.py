"""The fleet backend: one database, fed by ingest, served by FastAPI.

- ``core``: Settings (FLEET_* variables) and the database engine.
- ``models``: the tables, one module per aggregate.
- ``services``: the SQL, one module per aggregate; routes and ingest call these.
- ``ingest``: MQTT in, rows out (``ingest.pipeline`` is where a message becomes a row).
- ``api``: thin HTTP routers; ``ops``: the ops centre's pages.
- ``migrations``: Alembic; ``cli``: ``fleet-backend``.
"""
