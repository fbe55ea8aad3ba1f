"""What understanding assumed about dates, said back to the user so nothing is silently substituted."""

from __future__ import annotations

from datetime import date

from bot.schemas import Language

from .anchors import FESTIVALS, find_anchors
from .holidays_cn import Festival, next_period

_NAMES = {
    Festival.NEW_YEAR: ("元旦", "New Year's Day"),
    Festival.SPRING: ("春节", "Spring Festival (Chinese New Year)"),
    Festival.QINGMING: ("清明", "Qingming"),
    Festival.LABOUR: ("五一", "May Day"),
    Festival.DRAGON_BOAT: ("端午", "Dragon Boat Festival"),
    Festival.MID_AUTUMN: ("中秋", "Mid-Autumn Festival"),
    Festival.NATIONAL: ("国庆", "National Day"),
}


def festival_of(text: str) -> Festival | None:
    """The first Chinese public holiday the text names as a date ("春节去哈尔滨"), if any."""
    folded = text.casefold()
    for anchor in find_anchors(text):
        words = " ".join(folded[anchor.begin : anchor.end].split())
        if words in FESTIVALS:
            return FESTIVALS[words]
    return None


def festival_note(text: str, today: date, language: Language) -> str:
    """One line saying which days the named holiday is, and whether that schedule is official yet."""
    festival = festival_of(text)
    if festival is None:
        return ""
    period = next_period(festival, today)
    if period is None:
        return ""
    zh, en = _NAMES[festival]
    if language is Language.ZH:
        first, last = period.start, period.end
        span = f"{first.year}年{zh}假期为{first.month}月{first.day}日至{last.month}月{last.day}日"
        if period.official:
            return f"{span}（国务院放假安排）。"
        return f"{span}（按法定节假日规则推算，国务院当年放假安排公布后请再核对）。"
    first, last = period.start, period.end
    span = f"The {first.year} {en} holiday runs {first:%b} {first.day} to {last:%b} {last.day}"
    if period.official:
        return f"{span} (official schedule)."
    return f"{span} (from the statutory rules; check the official schedule once it is published)."
