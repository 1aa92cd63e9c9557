"""The chip-card reader: read and authenticate a citizen's card, watch the reader.

Public surface (the UI imports only these)::

    CardReader        the Protocol every backend implements (pcsc, sim; a SAM reader later)
    CardEvent, CardEventKind
    CardIdentity      what a successful read returns; masks itself in logs
    CardReaderConfig, make_card_reader

Errors are those of ``devices.errors``. pyscard is imported only by the
``pcsc*`` modules of this package, and only when the ``pcsc`` backend is made.
The citizen-card application is specified in SPEC.md beside this file.
"""

from devices.card.factory import CardReaderConfig, make_card_reader
from devices.card.identity import CardIdentity, mask_id_number
from devices.card.reader import CardEvent, CardEventKind, CardReader

__all__ = [
    "CardEvent",
    "CardEventKind",
    "CardIdentity",
    "CardReader",
    "CardReaderConfig",
    "make_card_reader",
    "mask_id_number",
]
