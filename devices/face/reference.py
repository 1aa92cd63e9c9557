"""The card photo's encoding, held so that it cannot leak by accident.

A citizen's face encoding is biometric data: it must never be printed, logged,
pickled or written anywhere. This wrapper makes the easy mistakes fail: its
repr shows no numbers, pickling raises, and ``clear()`` overwrites the values
when the session ends (DESIGN: the session clears every trace of the citizen).
"""

from __future__ import annotations

from typing import NoReturn

import numpy as np
import numpy.typing as npt


class FaceReference:
    __slots__ = ("_encoding",)

    def __init__(self, encoding: npt.NDArray[np.float64]) -> None:
        self._encoding: npt.NDArray[np.float64] | None = np.array(encoding, dtype=np.float64)

    @property
    def cleared(self) -> bool:
        return self._encoding is None

    def encoding(self) -> npt.NDArray[np.float64]:
        """For the verifier only. Raises ValueError once cleared."""
        if self._encoding is None:
            raise ValueError("face reference was cleared")
        return self._encoding

    def clear(self) -> None:
        """Overwrite and drop the encoding (end of the citizen's session)."""
        if self._encoding is not None:
            self._encoding.fill(0.0)
            self._encoding = None

    def __repr__(self) -> str:
        state = "cleared" if self._encoding is None else "encoding withheld"
        return f"FaceReference(<{state}>)"

    def __reduce__(self) -> NoReturn:
        raise TypeError("a FaceReference is never serialised (biometric data stays in memory)")
