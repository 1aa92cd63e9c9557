"""The enrolment-code page (issue 7): a one-time code shown once with its QR, the outstanding list, retiring."""

from __future__ import annotations

import re
from pathlib import Path

import segno
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from backend.api.main import create_app
from backend.core.config import Settings
from backend.services import audit
from provisioning import enrolment_qr
from provisioning.ca import make_csr, new_key
from tests.backend.ops.conftest import CSRF, login
from tests.kiosk_identity import fleet_ca

CODE = re.compile(r'class="code code-text">([A-Z2-9]{4}(?:-[A-Z2-9]{4}){3})<')


def test_a_code_is_shown_once_with_a_qr_and_enrols_a_kiosk(
    ops_settings: Settings, users: dict, fleet_db: Engine, kiosk_ca: Path
) -> None:
    fleet_ca(kiosk_ca)
    app = create_app(ops_settings.model_copy(update={"ca_dir": kiosk_ca}))
    with TestClient(app) as client:
        csrf = login(client, "operator1")
        page = client.get("/ops/enrolment")
        assert page.status_code == 200 and "生成一次性注册码" in page.text
        assert "终端退役" not in page.text  # retiring is for admins
        made = client.post(
            "/ops/enrolment/codes",
            data={
                "site": "东城区政务服务中心 2 楼",
                "region_code": "110101",
                "ttl_hours": "24",
                "csrf": csrf,
            },
        )
        assert made.status_code == 200
        code = CODE.search(made.text).group(1)
        qr = made.text.split('class="qr">')[1]
        assert qr.lstrip().startswith("<svg") and "</svg>" in qr  # inline SVG, no image request
        # What the QR says is what `kioskctl enrol --scan` reads: the code and this backend.
        expected = segno.make_qr(
            enrolment_qr.payload(code, ops_settings.public_base_url), error="m"
        ).svg_inline(scale=4, dark="#111827")
        assert qr.lstrip().startswith(expected)
        assert "北京市东城区" in made.text
        listed = client.get("/ops/enrolment").text
        assert "东城区政务服务中心 2 楼" in listed and code not in listed  # shown once only
        with fleet_db.connect() as conn:
            stored = conn.execute(text("SELECT code_hash, created_by FROM enrolment_codes")).one()
        assert code not in stored[0] and stored[1] == "user:operator1"

        enrolled = client.post(
            "/api/v1/enrol", json={"code": code, "csr_pem": make_csr(new_key(), "kiosk").decode()}
        )
        assert enrolled.status_code == 201 and enrolled.json()["kiosk_id"] == "k110101-0001"
        assert (
            "东城区政务服务中心 2 楼" not in client.get("/ops/enrolment").text
        )  # used: not outstanding
        assert (
            client.post(
                "/ops/enrolment/retire",
                data={"kiosk_id": "k110101-0001", "confirm": "k110101-0001", "csrf": csrf},
            ).status_code
            == 403
        )

        client.cookies.clear()
        admin_csrf = login(client, "admin1")
        unconfirmed = client.post(
            "/ops/enrolment/retire",
            data={"kiosk_id": "k110101-0001", "confirm": "k110101-0002", "csrf": admin_csrf},
        )
        assert unconfirmed.status_code == 422 and "确认" in unconfirmed.text
        retired = client.post(
            "/ops/enrolment/retire",
            data={"kiosk_id": "k110101-0001", "confirm": "k110101-0001", "csrf": admin_csrf},
        )
        assert retired.status_code == 200 and "已退役" in retired.text
        unknown = client.post(
            "/ops/enrolment/retire",
            data={"kiosk_id": "k110101-0404", "confirm": "k110101-0404", "csrf": admin_csrf},
        )
        assert unknown.status_code == 404
    with Session(fleet_db) as session:
        actions = [(e.actor, e.action) for e in audit.recent(session, limit=20)]
    assert ("user:operator1", "enrolment.code_created") in actions
    assert ("user:admin1", "kiosk.retire") in actions


def test_bad_input_is_refused_and_nothing_is_stored(
    ops_client: TestClient, users: dict, fleet_db: Engine
) -> None:
    csrf = login(ops_client, "operator1")
    bad = ops_client.post(
        "/ops/enrolment/codes", data={"site": "某地", "region_code": "999999", "csrf": csrf}
    )
    assert bad.status_code == 422 and "不是已知的" in bad.text
    missing = ops_client.post("/ops/enrolment/codes", data={"region_code": "110101", "csrf": csrf})
    assert missing.status_code == 422
    forged = ops_client.post(
        "/ops/enrolment/codes", data={"site": "x", "region_code": "110101", "csrf": "x" + csrf}
    )
    assert forged.status_code == 403
    with fleet_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM enrolment_codes")).scalar_one() == 0
    ops_client.cookies.clear()
    login(ops_client, "tech1")
    assert ops_client.get("/ops/enrolment").status_code == 403
    assert CSRF  # the pattern the log-in helper uses


def test_a_sheet_of_codes_for_a_week_of_installs(
    ops_client: TestClient, users: dict, fleet_db: Engine
) -> None:
    csrf = login(ops_client, "operator1")
    sheet = ops_client.post(
        "/ops/enrolment/codes",
        data={
            "site": "朝阳区各街道便民服务中心",
            "region_code": "110105",
            "count": "12",
            "csrf": csrf,
        },
    )
    assert sheet.status_code == 200
    codes = CODE.findall(sheet.text)
    assert len(codes) == 12 == len(set(codes)) == sheet.text.count('class="qr"><svg')
    assert "打印注册单" in sheet.text
    with fleet_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM enrolment_codes")).scalar_one() == 12
        logged = conn.execute(
            text("SELECT detail FROM audit_log WHERE action = 'enrolment.code_created'")
        ).scalar_one()
    assert '"count": 12' in str(logged) or "'count': 12" in str(logged)
    too_many = ops_client.post(
        "/ops/enrolment/codes",
        data={"site": "x", "region_code": "110105", "count": "500", "csrf": csrf},
    )
    assert too_many.status_code == 422
