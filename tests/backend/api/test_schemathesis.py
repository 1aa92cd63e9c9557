"""Schemathesis against /openapi.json, in-process: no operation answers 5xx, whatever it gets.

Every operation of the API (government services, ops, enrolment) gets valid
(positive) and invalid (negative) generated requests, carrying the
credentials its prefix needs (a citizen token, a reviewer or admin token, a
kiosk's signature), so the generated input reaches the handlers instead of
stopping at 401. Bounded: a few examples per operation and mode, and a
wall-clock budget.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import httpx
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.backend.gov_fixtures import ZHANG_SAN, Gov, gov

__all__ = ["gov"]

EXAMPLES = {GenerationMode.POSITIVE: 12, GenerationMode.NEGATIVE: 6}
BUDGET_S = 90.0
# These end the session they are given, or answer 401 by design (a wrong code): run them
# last, and leave them out of the "reached the handlers" measure.
ENDS_SESSION = {
    "/api/v1/app/auth/logout",
    "/api/v1/kiosk/citizen-sessions/current",
    "/api/v1/app/auth/login",
}


def test_no_operation_answers_5xx(gov: Gov) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", gov.client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 50
    operations.sort(key=lambda op: op.path in ENDS_SESSION)
    client = TestClient(gov.client.app, raise_server_exceptions=False)  # a 500 is a response
    citizen = gov.app_login(ZHANG_SAN)
    reviewer = gov.reviewer()
    admin = gov.reviewer("admin")
    kiosk = gov.kiosk()
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    unauthorised: Counter[str] = Counter()
    answered: set[str] = set()  # operations that answered 2xx at least once
    started = time.monotonic()

    def credentials(path: str) -> tuple[dict[str, str], Any]:
        if path.startswith(("/api/v1/citizen", "/api/v1/app")):
            return citizen, None
        if path.startswith("/api/v1/review"):
            return reviewer, None
        if path.startswith("/api/v1/kiosk"):
            return {}, kiosk
        return admin, None

    def send(case: Any) -> None:
        kwargs = case.as_transport_kwargs()
        kwargs.pop("cookies", None)
        headers, auth = credentials(case.operation.path)
        generated = {
            k: v
            for k, v in (kwargs.pop("headers", None) or {}).items()
            if k.lower() != "authorization"
        }  # schemathesis makes up bearer tokens; ours are real
        sent_headers = {**generated, **headers}
        try:
            response = client.request(
                kwargs.pop("method"),
                kwargs.pop("url"),
                headers=sent_headers,
                auth=auth or httpx.USE_CLIENT_DEFAULT,
                **kwargs,
            )
        except (httpx.InvalidURL, httpx.LocalProtocolError, UnicodeEncodeError):
            return  # not a request a client could send: nothing reached the server
        statuses[response.status_code] += 1
        if response.status_code == 401 and case.operation.path not in ENDS_SESSION:
            unauthorised[f"{case.operation.method.upper()} {case.operation.path}"] += 1
        if response.status_code < 300:
            answered.add(f"{case.operation.method.upper()} {case.operation.path}")
        if response.status_code >= 500:
            failures.append(
                f"{case.operation.method.upper()} {case.operation.path} -> "
                f"{response.status_code}: {response.text[:200]} ({kwargs})"
            )

    for operation in operations:
        for mode, examples in EXAMPLES.items():
            if time.monotonic() - started > BUDGET_S:
                break
            try:
                strategy = operation.as_strategy(generation_mode=mode)
            except Exception:
                continue

            @settings(
                max_examples=examples,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            @given(strategy)
            def run(case: Any) -> None:
                send(case)

            try:
                run()
            except Unsatisfiable:
                continue  # e.g. no invalid input exists for an operation without parameters
    assert failures == [], "\n".join(failures[:20])
    # The generated requests got through authentication to the handlers:
    assert sum(unauthorised.values()) < sum(statuses.values()) / 10, (statuses, unauthorised)
    print(f"{sum(statuses.values())} requests: {sorted(statuses.items())}")
    print("never 2xx:", sorted({f"{o.method.upper()} {o.path}" for o in operations} - answered))
