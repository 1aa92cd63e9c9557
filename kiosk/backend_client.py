"""Everything the kiosk asks the backend online, behind one small typed interface.

Screens never see HTTP: they call the journey, which calls a ``BackendClient``.
Applications and ratings are NOT here: they travel as outbox events, so they
work offline. What is here must be online: catalog sync, the citizen's
session (vouched by card and face), and the citizen's own look-ups.

Errors, the whole tree::

    BackendError          base
    ├── Offline           no answer (no network, refused, timeout, 5xx): show the banner
    └── BackendRefused    a 4xx: ``status`` and the backend's ``detail``

Every request is signed with the kiosk's key (``provisioning.request_signing``);
citizen calls also carry the session's bearer token.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from provisioning.request_signing import KioskAuth, KioskSigner

logger = logging.getLogger(__name__)


class BackendError(Exception):
    pass


class Offline(BackendError):
    pass


class BackendRefused(BackendError):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class CatalogFetch:
    body: dict[str, Any]
    etag: str | None


@dataclass(frozen=True, repr=False)
class CitizenSession:
    """The backend's session for a citizen vouched by card and face."""

    token: str
    expires_at: str
    citizen_id: str
    id_number_masked: str
    phone_masked: str | None
    # Names this session in the events sent for the citizen (citizen_session): the backend
    # accepts an application or rating for the citizen only with a session it issued to us.
    session_ref: str | None = None

    def __repr__(self) -> str:
        return f"CitizenSession(citizen_id={self.citizen_id!r}, token=<hidden>)"


class BackendClient(Protocol):
    def fetch_catalog(self, etag: str | None) -> CatalogFetch | None:
        """The catalog, or None when it is unchanged since ``etag`` (304)."""
        ...

    def open_session(
        self, id_number: str, name: str, card_type: str, face: dict[str, Any]
    ) -> CitizenSession: ...

    def close_session(self, token: str) -> None: ...

    def applications(self, token: str) -> list[dict[str, Any]]: ...

    def licences(self, token: str) -> list[dict[str, Any]]: ...

    def licence_document(self, token: str, licence_no: str) -> dict[str, Any]: ...

    def faq(self, query: str) -> list[dict[str, Any]]: ...

    def ask_question(self, token: str, text: str) -> dict[str, Any]:
        """A question the FAQ did not answer: a ticket for a department (its answer comes back)."""
        ...

    def close(self) -> None: ...


class NoBackend:
    """The kiosk before enrolment (demo, training): every online call is ``Offline``."""

    def _offline(self, *args: object, **kwargs: object) -> Any:
        raise Offline("no backend configured (KIOSK_BACKEND_URL unset or kiosk not enrolled)")

    fetch_catalog = open_session = close_session = applications = _offline
    licences = licence_document = faq = ask_question = _offline

    def close(self) -> None:
        pass


def _items(body: Any, *keys: str) -> list[dict[str, Any]]:
    """A list answer, bare or wrapped in ``{"items": [...]}`` (the paginated form)."""
    if isinstance(body, list):
        return body
    for key in (*keys, "items", "results", "data"):
        if isinstance(body, dict) and isinstance(body.get(key), list):
            return body[key]
    return []


class HttpBackendClient:
    def __init__(
        self,
        base_url: str,
        signer: KioskSigner | None,
        *,
        timeout: float = 3.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            auth=KioskAuth(signer) if signer else None,
            timeout=timeout,
            transport=transport,
        )

    @classmethod
    def from_files(
        cls, base_url: str, key_path: Any, cert_path: Any, **kw: Any
    ) -> HttpBackendClient:
        return cls(base_url, KioskSigner.from_files(key_path, cert_path), **kw)

    def close(self) -> None:
        self._http.close()

    def _request(
        self, method: str, path: str, *, token: str | None = None, **kw: Any
    ) -> httpx.Response:
        headers = dict(kw.pop("headers", {}) or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            response = self._http.request(method, path, headers=headers, **kw)
        except httpx.HTTPError as err:  # connect, read, timeout, protocol
            raise Offline(f"{method} {path}: {type(err).__name__}") from err
        if response.status_code >= 500:
            raise Offline(f"{method} {path}: HTTP {response.status_code}")
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise BackendRefused(response.status_code, str(detail)[:300])
        return response

    def fetch_catalog(self, etag: str | None) -> CatalogFetch | None:
        headers = {"If-None-Match": etag} if etag else {}
        response = self._request("GET", "/api/v1/kiosk/catalog", headers=headers)
        if response.status_code == 304:
            return None
        return CatalogFetch(response.json(), response.headers.get("ETag"))

    def open_session(
        self, id_number: str, name: str, card_type: str, face: dict[str, Any]
    ) -> CitizenSession:
        body = {"id_number": id_number, "name": name, "card_type": card_type, "face": face}
        data = self._request("POST", "/api/v1/kiosk/citizen-sessions", json=body).json()
        citizen = data.get("citizen") or {}
        return CitizenSession(
            token=data["token"],
            expires_at=str(data.get("expires_at", "")),
            citizen_id=str(citizen.get("id", "")),
            id_number_masked=str(citizen.get("id_number_masked", "")),
            phone_masked=citizen.get("phone_masked"),
            session_ref=data.get("session_ref") or None,
        )

    def close_session(self, token: str) -> None:
        self._request("DELETE", "/api/v1/kiosk/citizen-sessions/current", token=token)

    def applications(self, token: str) -> list[dict[str, Any]]:
        return _items(self._request("GET", "/api/v1/citizen/applications", token=token).json())

    def licences(self, token: str) -> list[dict[str, Any]]:
        return _items(self._request("GET", "/api/v1/citizen/licences", token=token).json())

    def licence_document(self, token: str, licence_no: str) -> dict[str, Any]:
        path = f"/api/v1/citizen/licences/{licence_no}/document"
        return self._request("GET", path, token=token).json()

    def faq(self, query: str) -> list[dict[str, Any]]:
        return _items(self._request("GET", "/api/v1/faq", params={"q": query}).json())

    def ask_question(self, token: str, text: str) -> dict[str, Any]:
        path = "/api/v1/citizen/questions"
        return self._request("POST", path, token=token, json={"text": text}).json()
