"""Resident identity card numbers (GB 11643): format, birth date and check digit.

python-stdnum computes the check digit. Its full `validate` also looks the birth place up in a county
table, which costs ~35 µs a call and rejects codes of counties renamed since; the clearance path needs the
cheap, unambiguous part (format, check digit, a real birth date), so only that is done here.
"""

from __future__ import annotations

import re
from datetime import date

from stdnum.cn import ric

_FORMAT = re.compile(r"[0-9]{17}[0-9X]\Z")


def id_card_problem(number: str) -> tuple[str, str] | None:
    """Why `number` is not a valid 18-digit ID card number, as (中文, English); None when it is valid."""
    if not _FORMAT.match(number):
        return (
            "身份证号码应为18位（17位数字+数字或X）",
            "an ID card number has 18 characters: 17 digits and a digit or X",
        )
    if ric.calc_check_digit(number) != number[-1]:
        return "身份证号码校验位错误", "the ID card number's check digit is wrong"
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        born = None
    if born is None or born.year < 1880 or born > date.today():
        return "身份证号码中的出生日期无效", "the birth date inside the ID card number is not a real date"
    return None


def mask_id(number: str) -> str:
    """Mask an ID number for display: keep the first 3 and last 4 characters (110***********002X)."""
    if len(number) <= 7:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 7) + number[-4:]
