"""The one error of the contract boundary.

``ContractError.reason`` is a short, stable, human-readable sentence (English,
for logs and the dead-letter table); ``code`` is a machine key to group by.
"""


class ContractError(ValueError):
    """A message that does not meet the contract; never raised for I/O faults."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
