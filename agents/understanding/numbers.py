"""Numbers as users type them: digits, Chinese numerals (一二两三…十…九十九) and English words.

The regex fragments ``ZH_NUM`` and ``EN_NUM`` match the spellings :func:`parse_number` understands,
so patterns elsewhere can capture a number and hand it here.
"""

from __future__ import annotations

ZH_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
EN_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fourteen": 14,
}

ZH_NUM = r"\d{1,3}|[一二两三四五六七八九十]{1,3}"
EN_NUM = r"\d{1,3}|" + "|".join(sorted(EN_WORDS, key=len, reverse=True))


def parse_number(token: str) -> int | None:
    """Value of a number written in digits, Chinese numerals or English words; None if it is none."""
    token = token.strip().lower()
    if token.isdecimal():
        return int(token)
    if token in EN_WORDS:
        return EN_WORDS[token]
    return _parse_zh(token)


def _parse_zh(token: str) -> int | None:
    """Chinese numerals up to 99: 三, 十, 十二, 二十, 二十五."""
    if token in ZH_DIGITS:
        return ZH_DIGITS[token]
    tens, sep, ones = token.partition("十")
    if not sep:
        return None
    tens_value = ZH_DIGITS.get(tens) if tens else 1
    ones_value = ZH_DIGITS.get(ones) if ones else 0
    if tens_value is None or ones_value is None:
        return None
    return tens_value * 10 + ones_value
