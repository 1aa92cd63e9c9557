"""Masking, repr hygiene and the checks on identity numbers and validity dates."""

from __future__ import annotations

from datetime import date

import pytest
from stdnum.cn import ric

from devices.card.identity import (
    CardIdentity,
    check_consistency,
    check_id_number,
    check_validity,
    mask_id_number,
    mask_name,
)
from devices.errors import CardDataInvalid, CardExpired


def test_masking_keeps_first_six_and_last_four() -> None:
    assert mask_id_number("11010519491231002X") == "110105********002X"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧阳**"


def test_repr_and_str_hide_number_address_and_photo() -> None:
    identity = CardIdentity(
        name="张三",
        id_number="11010519491231002X",
        sex="女",
        ethnicity="汉",
        birth_date=date(1949, 12, 31),
        address="北京市西城区复兴门内大街101号",
        issuing_authority="北京市公安局西城分局",
        valid_from=date(2019, 5, 20),
        valid_until=None,
        serial="4B10000000000001",
        photo=b"\xff\xd8secret-face\xff\xd9",
    )
    for text in (repr(identity), str(identity), f"{identity}"):
        assert "11010519491231002X" not in text
        assert "19491231" not in text
        assert "复兴门" not in text
        assert "secret-face" not in text
        assert "110105********002X" in text


def test_bad_checksum_is_invalid_data() -> None:
    with pytest.raises(CardDataInvalid, match=r"110105\*+0021"):
        check_id_number("110105194912310021")


def test_unknown_address_code_is_invalid_data() -> None:
    with pytest.raises(CardDataInvalid):
        check_id_number("00000019491231002X")


# valid check digits (python-stdnum accepts the first two), impossible birth dates
BORN_2090 = "110105209001010025"
BORN_1899 = "110105189912310023"
BORN_0230 = "110105199002300028"  # 30 February: not a date at all
BORN_1900 = "110105190001010028"


@pytest.mark.parametrize("number", [BORN_2090, BORN_1899, BORN_0230])
def test_an_impossible_birth_date_is_invalid_data(number: str) -> None:
    with pytest.raises(CardDataInvalid, match=r"110105\*+"):
        check_id_number(number, today=date(2026, 12, 1))


def test_birth_dates_from_1900_to_today_are_accepted() -> None:
    assert check_id_number(BORN_1900) == BORN_1900
    born_today = "11010520261201" + "002"
    born_today += ric.calc_check_digit(born_today + "0")
    assert check_id_number(born_today, today=date(2026, 12, 1)) == born_today
    with pytest.raises(CardDataInvalid, match="future"):
        check_id_number(born_today, today=date(2026, 11, 30))


def test_birth_date_and_sex_must_match_the_number() -> None:
    check_consistency("11010519491231002X", date(1949, 12, 31), "女")
    with pytest.raises(CardDataInvalid, match="birth date"):
        check_consistency("11010519491231002X", date(1950, 1, 1), "女")
    with pytest.raises(CardDataInvalid, match="sex"):
        check_consistency("11010519491231002X", date(1949, 12, 31), "男")


def test_validity_is_inclusive_at_both_ends() -> None:
    # check_validity raises on a card outside its dates and returns None otherwise
    assert check_validity(date(2020, 1, 1), date(2030, 1, 1), date(2020, 1, 1)) is None
    assert check_validity(date(2020, 1, 1), date(2030, 1, 1), date(2030, 1, 1)) is None
    assert check_validity(date(2020, 1, 1), None, date(2999, 1, 1)) is None  # long-term card


def test_expired_and_not_yet_valid_have_their_own_keys() -> None:
    with pytest.raises(CardExpired, match="expired on 2030-01-01") as expired:
        check_validity(date(2020, 1, 1), date(2030, 1, 1), date(2030, 1, 2))
    assert expired.value.key == "card.expired"
    with pytest.raises(CardExpired, match="not valid before 2020-01-01") as early:
        check_validity(date(2020, 1, 1), None, date(2019, 12, 31))
    assert early.value.key == "card.not_yet_valid"
