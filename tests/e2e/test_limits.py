"""Limits under attack, against a real `fleet-backend serve` on SQLite and on PostgreSQL.

Forty requests at once must not get more than the limit of password or code
checks; one client address must not lock every user out or send SMS to fifty
numbers; a 100 MB body must be refused before it is read, without the
server's memory growing; a forged Host header must not come back in a
redirect. Client addresses are told apart by X-Forwarded-For, which uvicorn
believes from loopback only (FORWARDED_ALLOW_IPS), as behind a local proxy.
Every figure asserted here is also printed (``pytest -s``) for the README.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from backend.core.db import make_engine
from backend.services import users as users_service
from mqtt.broker import free_port
from tests.conftest import wait_for
from tests.kiosk_identity import CA_PASSPHRASE

BIN = Path(sys.executable).parent
PASSWORD = "correct-horse-battery"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
PARALLEL = 40
SOURCE_LIMIT = 10  # FLEET_SOURCE_LOGIN_FAILURES and FLEET_SOURCE_SMS_CODES of the server below
MiB = 1024 * 1024


@dataclass
class Served:
    url: str
    port: int
    database_url: str
    outbox: Path
    pid: int

    def add_users(self, *names: str) -> None:
        engine = make_engine(self.database_url)
        with Session(engine) as session:
            for name in names:
                users_service.create_user(
                    session, username=name, password=PASSWORD, role="operator"
                )
            session.commit()
        engine.dispose()

    def failed_logins(self, username: str | None = None) -> int:
        """Passwords checked and found wrong: the audit log's login.failed rows."""
        sql = "SELECT count(*) FROM audit_log WHERE action = 'login.failed'"
        if username:
            sql += " AND target = :t"
        engine = make_engine(self.database_url)
        with engine.connect() as conn:
            n = conn.execute(text(sql), {"t": f"user:{username}"}).scalar_one()
        engine.dispose()
        return n

    def sms_sent(self, phone: str | None = None) -> int:
        path = self.outbox / "sms.jsonl"
        if not path.exists():
            return 0
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        return sum(1 for r in rows if phone is None or r["phone"] == phone)

    def rss_mib(self, field: str = "VmRSS") -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        raise AssertionError(f"no {field} for {self.pid}")


def _cli(env: dict[str, str], *argv: str) -> None:
    done = subprocess.run(
        [str(BIN / "fleet-backend"), *argv], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"fleet-backend {' '.join(argv)}:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:  # fmt: skip
    work = tmp_path_factory.mktemp(f"limits-{request.param}")
    if request.param == "sqlite":
        database_url = f"sqlite:///{work / 'fleet.db'}"
    else:
        database_url = request.getfixturevalue("postgres_server").new_database()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "FLEET_DATABASE_URL": database_url,
        "FLEET_CA_DIR": str(work / "ca"),
        "FLEET_CA_PASSPHRASE": CA_PASSPHRASE,
        "FLEET_DEV_OUTBOX_DIR": str(work / "outbox"),
        "FLEET_PUBLIC_BASE_URL": url,
        "FLEET_ALERT_INTERVAL_S": "0",
        "FLEET_SOURCE_LOGIN_FAILURES": str(SOURCE_LIMIT),
        "FLEET_SOURCE_SMS_CODES": str(SOURCE_LIMIT),
        "PYTHONUNBUFFERED": "1",
    }
    _cli(env, "ca", "init")
    _cli(env, "db", "upgrade")
    log = open(work / "serve.log", "wb")  # noqa: SIM115 - owned by the child
    proc = subprocess.Popen(
        [str(BIN / "fleet-backend"), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=work,
    )
    log.close()

    def up() -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        assert wait_for(up, 30, 0.2), (work / "serve.log").read_text(errors="replace")
        yield Served(url, port, database_url, work / "outbox", proc.pid)
        assert "Traceback" not in (work / "serve.log").read_text(errors="replace")
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _source(n: int) -> dict[str, str]:
    return {"X-Forwarded-For": f"203.0.113.{n}"}  # TEST-NET-3: a name for a client, no traffic


def _ops_login(served: Served, username: str, password: str, source: int) -> httpx.Response:
    with httpx.Client(base_url=served.url, headers=_source(source), timeout=60) as client:
        token = CSRF.search(client.get("/ops/login").text).group(1)
        return client.post(
            "/ops/login",
            data={"username": username, "password": password, "csrf": token},
            follow_redirects=False,
        )


def _outcome(response: httpx.Response) -> str:
    if response.status_code == 429:
        return "throttled"
    location = response.headers.get("location", "")
    if "error=locked" in location:
        return "locked"
    if "error=1" in location:
        return "wrong"
    return "in" if response.status_code == 303 else f"http {response.status_code}"


def _at_once(calls: list) -> list:
    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


def test_forty_parallel_wrong_passwords_check_five_and_then_lock(served: Served) -> None:
    served.add_users("racer1")
    # each from its own address: only the per-user limit is at work here
    calls = [lambda i=i: _ops_login(served, "racer1", f"wrong-password-{i}", 100 + i) for i in range(PARALLEL)]  # fmt: skip
    outcomes = Counter(_outcome(r) for r in _at_once(calls))
    checked = served.failed_logins("racer1")
    print(f"\n[{served.database_url.split(':')[0]}] {PARALLEL} parallel wrong log-ins: {dict(outcomes)}; passwords checked: {checked}")  # fmt: skip
    assert checked == 5 and outcomes == {"wrong": 5, "locked": PARALLEL - 5}
    # now even the right password, many times at once, opens nothing
    rights = Counter(_outcome(r) for r in _at_once([lambda i=i: _ops_login(served, "racer1", PASSWORD, 150 + i) for i in range(PARALLEL)]))  # fmt: skip
    print(f"  then {PARALLEL} parallel right passwords: {dict(rights)}")
    assert rights == {"locked": PARALLEL}
    assert served.failed_logins("racer1") == 5


def test_one_address_cannot_lock_every_user(served: Served) -> None:
    names = [f"victim{i:02d}" for i in range(PARALLEL)]
    served.add_users(*names)
    calls = [lambda n=n: _ops_login(served, n, "wrong-password-x", 7) for n in names]
    responses = _at_once(calls)
    outcomes = Counter(_outcome(r) for r in responses)
    checked = sum(served.failed_logins(n) for n in names)
    print(f"\n{PARALLEL} parallel wrong log-ins for {PARALLEL} users from one address: {dict(outcomes)}; passwords checked: {checked}")  # fmt: skip
    assert checked == SOURCE_LIMIT and outcomes == {"wrong": SOURCE_LIMIT, "throttled": PARALLEL - SOURCE_LIMIT}  # fmt: skip
    refused = next(r for r in responses if r.status_code == 429)
    assert int(refused.headers["Retry-After"]) > 0 and "此网络登录失败次数过多" in refused.text
    # nobody is locked out: each user still logs in, from their own address
    assert all(_outcome(_ops_login(served, n, PASSWORD, 8)) == "in" for n in names[:3])


def _sms(served: Served, phone: str, source: int) -> httpx.Response:
    return httpx.post(
        f"{served.url}/api/v1/app/auth/sms-code",
        json={"phone": phone},
        headers=_source(source),
        timeout=60,
    )


def _code_login(served: Served, phone: str, code: str, source: int) -> httpx.Response:
    return httpx.post(
        f"{served.url}/api/v1/app/auth/login",
        json={"phone": phone, "code": code},
        headers=_source(source),
        timeout=60,
    )


def test_forty_parallel_code_requests_send_one_sms(served: Served) -> None:
    phone = "13900000001"
    statuses = Counter(r.status_code for r in _at_once([lambda i=i: _sms(served, phone, 20 + i) for i in range(PARALLEL)]))  # fmt: skip
    print(f"\n{PARALLEL} parallel code requests for one number: {dict(statuses)}; SMS sent: {served.sms_sent(phone)}")  # fmt: skip
    assert statuses == {202: 1, 429: PARALLEL - 1} and served.sms_sent(phone) == 1


def test_one_address_cannot_send_sms_to_fifty_numbers(served: Served) -> None:
    phones = [f"1370000{i:04d}" for i in range(50)]
    responses = _at_once([lambda p=p: _sms(served, p, 9) for p in phones])
    statuses = Counter(r.status_code for r in responses)
    sent = sum(served.sms_sent(p) for p in phones)
    print(f"\n50 parallel code requests for 50 numbers from one address: {dict(statuses)}; SMS sent: {sent}")  # fmt: skip
    assert sent == SOURCE_LIMIT and statuses == {202: SOURCE_LIMIT, 429: 50 - SOURCE_LIMIT}
    refused = next(r for r in responses if r.status_code == 429)
    assert refused.json()["detail"]["reason"] == "source_throttled"
    assert "获取验证码过于频繁" in refused.json()["detail"]["message"]
    assert int(refused.headers["Retry-After"]) > 0
    assert _sms(served, "13600000000", 10).status_code == 202  # another address is served


def test_forty_parallel_wrong_codes_check_five_and_then_lock(served: Served) -> None:
    phone = "13900000002"
    assert _sms(served, phone, 30).status_code == 202
    good = json.loads((served.outbox / "sms.jsonl").read_text().splitlines()[-1])["code"]
    wrong = "000000" if good != "000000" else "111111"
    responses = _at_once([lambda i=i: _code_login(served, phone, wrong, 100 + i) for i in range(PARALLEL)])  # fmt: skip
    reasons = Counter(r.json()["detail"]["reason"] for r in responses)
    print(f"\n{PARALLEL} parallel wrong codes for one number: {dict(reasons)} (codes checked: {reasons['wrong_code']})")  # fmt: skip
    assert reasons == {"wrong_code": 5, "locked": PARALLEL - 5}
    right = Counter(r.status_code for r in _at_once([lambda i=i: _code_login(served, phone, good, 150 + i) for i in range(10)]))  # fmt: skip
    print(f"  then 10 parallel right codes: {dict(right)}")
    assert right == {429: 10}


def test_a_code_is_used_once_even_by_parallel_log_ins(served: Served) -> None:
    phone = "13900000003"
    assert _sms(served, phone, 31).status_code == 202
    good = json.loads((served.outbox / "sms.jsonl").read_text().splitlines()[-1])["code"]
    statuses = Counter(r.status_code for r in _at_once([lambda i=i: _code_login(served, phone, good, 60 + i) for i in range(10)]))  # fmt: skip
    assert statuses[200] == 1, statuses


# --- bodies ------------------------------------------------------------------------------------


def _chunked_upload(served: Served, total: int, chunk: int = 64 * 1024) -> tuple[int, int, float]:
    """POST ``total`` bytes chunked to an unauthenticated endpoint, on a raw socket; returns
    (status, bytes the server took before answering or closing, seconds)."""
    started = time.monotonic()
    sock = socket.create_connection(("127.0.0.1", served.port), timeout=30)
    sock.sendall(
        b"POST /api/v1/app/auth/sms-code HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    sent = 0
    block = b"%x\r\n" % chunk + b" " * chunk + b"\r\n"
    sock.settimeout(0.5)
    try:
        while sent < total:
            sock.sendall(block)
            sent += chunk
            sock.setblocking(False)
            try:
                if sock.recv(1, socket.MSG_PEEK):
                    break  # the server answered: stop sending
            except BlockingIOError:
                pass
            finally:
                sock.settimeout(0.5)
        else:
            sock.sendall(b"0\r\n\r\n")
    except OSError:
        pass  # the server closed the connection under us
    sock.settimeout(30)
    answer = b""
    try:
        while b"\r\n\r\n" not in answer:
            piece = sock.recv(4096)
            if not piece:
                break
            answer += piece
    except OSError:
        pass
    sock.close()
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1") else 0
    return status, sent, time.monotonic() - started


def _read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (it must close it)."""
    answer = b""
    while piece := sock.recv(4096):
        answer += piece
    return answer


def test_a_large_declared_body_is_refused_before_it_is_read(served: Served) -> None:
    with socket.create_connection(("127.0.0.1", served.port), timeout=30) as sock:
        sock.sendall(
            b"POST /api/v1/app/auth/sms-code HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 104857600\r\n\r\n"
        )  # and no body at all: the answer must come without it
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 413"), answer
    assert "请求内容过大" in answer.decode()
    with socket.create_connection(("127.0.0.1", served.port), timeout=30) as sock:
        sock.sendall(
            b"POST /api/v1/app/auth/sms-code HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Length: " + b"9" * 300 + b"\r\n\r\n{}"
        )
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 4"), answer  # a number of 300 digits: 400, not 500


def test_four_parallel_100_mb_chunked_uploads_keep_the_server_small(served: Served) -> None:
    before, peak_before = served.rss_mib(), served.rss_mib("VmHWM")
    results = _at_once([lambda: _chunked_upload(served, 100 * MiB) for _ in range(4)])
    after, peak = served.rss_mib(), served.rss_mib("VmHWM")
    taken = [round(sent / MiB, 1) for _, sent, _ in results]
    print(f"\n4 x 100 MB chunked posts: statuses {[s for s, _, _ in results]}, client got to send {taken} MiB each; server RSS {before:.0f} -> {after:.0f} MiB (peak {peak_before:.0f} -> {peak:.0f} MiB)")  # fmt: skip
    assert all(status == 413 for status, _, _ in results), results
    assert all(sent < 20 * MiB for _, sent, _ in results), taken  # cut off early, not drained
    assert after - before < 50 and peak - max(before, peak_before) < 50
    assert httpx.get(f"{served.url}/healthz").status_code == 200


# --- redirects ---------------------------------------------------------------------------------


def test_redirects_never_name_a_forged_host(served: Served) -> None:
    forged = {"Host": "evil.example"}
    for path in ("/ops/login/", "/api/v1/catalog/items/", "/ops/", "/ops", "/app", "/docs/"):
        r = httpx.get(f"{served.url}{path}", headers=forged, follow_redirects=False)
        location = r.headers.get("location", "")
        assert r.is_redirect, (path, r.status_code)
        assert "evil" not in location and location.startswith("/") and not location.startswith("//"), (path, location)  # fmt: skip


def test_bad_input_is_a_4xx_never_a_5xx(served: Served) -> None:
    import base64

    def cursor(raw: str) -> str:
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    token_env_free = [
        "/api/v1/catalog/items?q=%00",
        "/api/v1/catalog/items?q=a%00b",
        f"/api/v1/catalog/items?cursor={cursor('[' + '9' * 30 + ',' + json.dumps('x') + ']')}",
        f"/api/v1/catalog/items?cursor={cursor('[1,' + json.dumps('a' + chr(0)) + ']')}",
        "/api/v1/catalog/items/%00",
        "/api/v1/faq?q=%00",
    ]
    for path in token_env_free:
        r = httpx.get(f"{served.url}{path}")
        assert 400 <= r.status_code < 500, (path, r.status_code, r.text)
    headers = {"X-Kiosk-Timestamp": "9" * 400, "X-Kiosk-Nonce": "0" * 32, "X-Kiosk-Certificate": "AA==", "X-Kiosk-Signature": "AA=="}  # fmt: skip
    r = httpx.get(f"{served.url}/api/v1/kiosk/catalog", headers=headers)
    assert 400 <= r.status_code < 500, r.text
