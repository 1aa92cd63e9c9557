"""The one finder of identity and mobile numbers, and the masking of free text with it."""

from __future__ import annotations

import random

import pytest
from stdnum.cn import ric

from backend.core.privacy import find_personal_numbers, is_full_identity_number, mask_personal_data

ID = "11010519491231002X"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (f"身份证{ID}，电话13800138000", "身份证110105********002X，电话138****8000"),
        (
            "号码 110105 19491231 002x 手机 138-0013-8000",
            "号码 110105********002X 手机 138****8000",
        ),
        (
            "１３８００１３８０００ 和 １１０１０５１９４９１２３１００２Ｘ",
            "138****8000 和 110105********002X",
        ),
        ("旧证号 110105491231002。", "旧证号 110105******002。"),
        (f"13800138000 {ID}", "138****8000 110105********002X"),
        ("手机：+86 139 1234 5678", "手机：+86 139****5678"),
    ],
)
def test_identity_and_mobile_numbers_are_masked_however_written(text: str, masked: str) -> None:
    assert mask_personal_data(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "110105194912310021 校验位不对",
        "回执 TEST-KIOSK-01-20261203-0001，时间 2026-12-03 19:05",
        "办件编号 11110102000000000Q2001002000202612031234567",
        "座机 010-12345678，金额 12345.67 元",
        "23800138000 不是手机号",
    ],
)
def test_other_numbers_are_left_alone(text: str) -> None:
    assert mask_personal_data(text) == text


def test_the_check_digit_agrees_with_python_stdnum() -> None:
    rng = random.Random(7)
    for _ in range(3000):
        body = f"{rng.randint(110000, 659999)}{rng.randint(1930, 2020)}0{rng.randint(1, 9)}1{rng.randint(0, 9)}{rng.randint(0, 999):03d}"
        assert len(body) == 17
        for last in "0123456789X":
            number = body + last
            assert is_full_identity_number(number) == (ric.calc_check_digit(number) == last)


def test_found_numbers_report_kind_and_span() -> None:
    text = f"a {ID} b"
    (found,) = find_personal_numbers(text)
    assert (found.kind, text[found.start : found.end], found.masked) == (
        "ric",
        ID,
        "110105********002X",
    )
