"""A backend for the journey's tests: answers like the real one, or is unreachable.

A fake at the outermost seam (``BackendClient``), not a mock: it keeps state
(open sessions) so tests assert outcomes, and can be switched offline.
"""

from __future__ import annotations

import secrets
from typing import Any

from kiosk.backend_client import CatalogFetch, CitizenSession, Offline

CITIZEN_ID = "7b0c0a46-0b8f-4d3e-9d1e-1c2f3a4b5c01"


class FakeBackend:
    def __init__(
        self, *, online: bool = True, licences: list[dict[str, Any]] | None = None
    ) -> None:
        self.online = online
        self.sessions: dict[str, str] = {}  # token -> id number
        self.closed: list[str] = []
        self.licence_list = licences or []
        self.catalog: CatalogFetch | None = None
        self.questions: list[tuple[str, str]] = []  # (token, text) asked of the departments

    def _check(self) -> None:
        if not self.online:
            raise Offline("fake backend is down")

    def fetch_catalog(self, etag: str | None) -> CatalogFetch | None:
        self._check()
        if self.catalog is None or etag == self.catalog.etag:
            return None
        return self.catalog

    def open_session(
        self, id_number: str, name: str, card_type: str, face: dict[str, Any]
    ) -> CitizenSession:
        self._check()
        token = secrets.token_hex(8)
        self.sessions[token] = id_number
        return CitizenSession(
            token,
            "2099-01-01T00:00:00Z",
            CITIZEN_ID,
            id_number[:6] + "********" + id_number[-4:],
            None,
        )

    def close_session(self, token: str) -> None:
        self._check()
        self.sessions.pop(token, None)
        self.closed.append(token)

    def applications(self, token: str) -> list[dict[str, Any]]:
        self._check()
        return [
            {
                "receipt_no": "OLD-1",
                "item_name": "社会保障卡补领",
                "state": "concluded",
                "state_name": "已办结",
            }
        ]

    def licences(self, token: str) -> list[dict[str, Any]]:
        self._check()
        return self.licence_list

    def licence_document(self, token: str, licence_no: str) -> dict[str, Any]:
        self._check()
        return {
            "licence_no": licence_no,
            "title": "居民户口簿",
            "issuer": "公安局",
            "fields": [],
            "verification_code": "ABCD1234",
            "verify_url": "https://x/verify/ABCD1234",
        }

    def faq(self, query: str) -> list[dict[str, Any]]:
        self._check()
        return [{"question": f"{query}怎么办？", "answer": "请携带身份证到窗口办理。"}]

    def ask_question(self, token: str, text: str) -> dict[str, Any]:
        self._check()
        self.questions.append((token, text))
        return {"id": f"Q{len(self.questions):04d}", "text": text, "state": "routed"}

    def close(self) -> None:
        pass
