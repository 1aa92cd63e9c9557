"""Every cursor and time parameter is untrusted input: whatever a client sends, 4xx, never 5xx.

Hypothesis makes the cursors (text, bytes, and base64 of JSON holding huge
integers, floats, NUL characters, naive and aware times at the calendar's
edges) and the times (RFC 3339 with any offset up to ±23:59, and junk),
and sends them to every endpoint that decodes one, on SQLite and PostgreSQL.
The examples found by hand are pinned with ``@example``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from backend.api.main import create_app
from backend.core.config import Settings
from backend.services import tokens
from backend.services.pagination import BadCursor, decode_cursor, encode_cursor

CURSOR_ENDPOINTS = (
    "/api/v1/catalog/items",
    "/api/v1/ops/events",
    "/api/v1/ops/dead-letters",
    "/api/v1/review/applications",
)
TIME_ENDPOINTS = (
    ("/api/v1/ops/events", "since"),
    ("/api/v1/ops/events", "until"),
    ("/api/v1/ops/kiosks/k110101-0001/health", "since"),
)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _offset(minutes: int) -> str:
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


times = st.one_of(
    st.builds(
        lambda at, offset: at.isoformat() + ("" if offset is None else _offset(offset)),
        st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)),
        st.none() | st.integers(-(24 * 60 - 1), 24 * 60 - 1),
    ),
    st.text(max_size=40),
    st.integers().map(str),
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | times,
    lambda inner: st.lists(inner, max_size=3),
    max_leaves=6,
)
cursors = st.one_of(
    st.lists(json_values, min_size=1, max_size=3).map(
        lambda values: _b64(json.dumps(values).encode())
    ),
    st.binary(max_size=60).map(_b64),
    st.text(max_size=60),
)


@pytest.fixture
def client(any_db_url: str) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=any_db_url))
    with app.state.sessions.begin() as session:
        admin = tokens.create_token(session, role="admin", name="fuzz-admin")
        reviewer = tokens.create_token(session, role="reviewer", name="fuzz-reviewer")
    with TestClient(app, raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {admin}"
        c.reviewer = {"Authorization": f"Bearer {reviewer}"}  # type: ignore[attr-defined]
        yield c


def _get(client: TestClient, path: str, **params: str) -> int:
    headers = client.reviewer if path.startswith("/api/v1/review") else None  # type: ignore[attr-defined]
    response = client.get(path, params=params, headers=headers)
    assert response.status_code < 500, (path, params, response.status_code, response.text)
    return response.status_code


FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(cursor=cursors)
@example(cursor=_b64(b'[99999999999999999999999,"x"]'))  # an integer past 64 bits
@example(cursor=_b64(b'["2026-01-01T00:00:00","x"]'))  # a naive time
@example(cursor=_b64(b'["9999-12-31T23:59:59-23:59","x"]'))  # past year 9999 in UTC
@example(cursor=_b64(b'[1,"a\\u0000b"]'))  # NUL, which PostgreSQL cannot hold
@example(cursor=_b64(b"[[[[[[[[[[1]]]]]]]]]]"))
def test_no_cursor_makes_a_5xx(client: TestClient, cursor: str) -> None:
    for path in CURSOR_ENDPOINTS:
        status = _get(client, path, cursor=cursor)
        assert status in (200, 400, 422), (path, status)


@FUZZ
@given(value=times)
@example(value="9999-12-31T23:59:59-23:59")
@example(value="0001-01-01T00:00:00+23:59")
@example(value="9" * 400)
@example(value="2026-02-30T00:00:00Z")
def test_no_time_parameter_makes_a_5xx(client: TestClient, value: str) -> None:
    for path, name in TIME_ENDPOINTS:
        status = _get(client, path, **{name: value})
        # 404: the kiosk of a kiosk's history is not in this database; never a 5xx
        assert status in (200, 400, 404, 422), (path, name, value, status)


def test_a_refused_time_or_cursor_is_explained_in_chinese(client: TestClient) -> None:
    edge = client.get("/api/v1/ops/events", params={"since": "0001-01-01T00:00:00+23:59"})
    assert edge.status_code == 422 and "since" in edge.json()["message"]
    assert "请求参数有误" in edge.json()["message"]
    assert "超出可表示的范围" in edge.text
    bad = client.get("/api/v1/catalog/items", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 400 and bad.json()["detail"] == "翻页游标无效，请从第一页重新查询"
    nul = client.get("/api/v1/catalog/items", params={"q": "\x00"})
    assert nul.status_code == 400 and "控制字符" in nul.json()["detail"]


@given(st.integers(-(2**63), 2**63 - 1), st.text(max_size=50).filter(str.isprintable))
def test_every_cursor_the_api_gives_out_decodes_back(position: int, code: str) -> None:
    assert decode_cursor(encode_cursor(position, code), int, str) == [position, code]


@pytest.mark.parametrize(
    "values",
    [[2**63, "x"], [True, "x"], [1.5, "x"], [1, None], [1, "x" * 201], [1], [1, "x", 2]],
)
def test_decode_cursor_refuses_what_the_api_never_gave_out(values: list) -> None:
    with pytest.raises(BadCursor):
        decode_cursor(encode_cursor(*values), int, str)
