"""Identity numbers the backend refuses: python-stdnum's checks, and a birth date between 1900
and today (the same rule as the kiosk's devices/card/identity.py, checked side by side)."""

from __future__ import annotations

from datetime import date

import pytest

from backend.services.citizens import CitizenRefused, normalise_id_number
from devices.card.identity import check_id_number
from devices.errors import CardDataInvalid
from tests.backend.gov_fixtures import ZHANG_SAN, Gov, gov

__all__ = ["gov"]

TODAY = date(2026, 12, 1)
IMPOSSIBLE = {
    "110105209001010025": "出生日期不可能",  # born 2090: valid check digit
    "110105189912310023": "出生日期不可能",  # born 1899: valid check digit
    "110105199002300028": "出生日期不对",  # 30 February (python-stdnum: InvalidComponent)
}


@pytest.mark.parametrize("number", sorted(IMPOSSIBLE))
def test_an_impossible_birth_date_is_refused_in_chinese(number: str) -> None:
    with pytest.raises(CitizenRefused) as refused:
        normalise_id_number(number, today=TODAY)
    assert refused.value.code == "bad_id_number"
    assert IMPOSSIBLE[number] in str(refused.value)


@pytest.mark.parametrize(
    "number", [*IMPOSSIBLE, "110105190001010028", "11010519491231002X", "110105202612010022"]
)
def test_backend_and_kiosk_agree(number: str) -> None:
    def backend_ok() -> bool:
        try:
            normalise_id_number(number, today=TODAY)
        except CitizenRefused:
            return False
        return True

    def kiosk_ok() -> bool:
        try:
            check_id_number(number, today=TODAY)
        except CardDataInvalid:
            return False
        return True

    assert backend_ok() == kiosk_ok()


def test_the_kiosk_api_refuses_a_number_born_in_2090(gov: Gov) -> None:
    auth = gov.kiosk()
    body = {
        "id_number": "110105209001010025",
        "name": ZHANG_SAN["name"],
        "card_type": "resident_id",
        "face": {"decision": "match", "distance": 0.3, "liveness": "passed"},
    }
    r = gov.client.post("/api/v1/kiosk/citizen-sessions", json=body, auth=auth)
    assert r.status_code == 422
    assert r.json()["detail"]["reason"] == "bad_id_number"
    assert "出生日期不可能" in r.json()["detail"]["message"]
