"""Deterministic dates of a trip request, in Chinese and English.

Conventions ("today" is ``now.date()`` in now's own time zone):

* Weeks start on Monday. 这周X / 本周X / "this <weekday>" is that day of the current calendar week;
  下周X / "next <weekday>" is that day of the NEXT calendar week (on Monday 2026-11-23, 下周三 is
  2026-12-02 and "next Friday" 2026-12-04); 下下周X two weeks on. A bare weekday (周五, "Friday")
  is the first one on or after today, today included.
* A weekend is Saturday + Sunday; 这周末 / "this weekend" never starts before today, so said on a
  Sunday it is that Sunday only. 下周 / "next week" alone is next Monday..Sunday.
* A duration starts on the day its anchor starts: "3 days next weekend" is Saturday..Monday,
  后天开始玩四天 is the day after tomorrow + 3 days, 国庆玩三天 is Oct 1..3. A duration with no anchor
  ("3 days in Kyoto") starts tomorrow. N nights are N + 1 calendar days; when both are given
  (三天两晚) the days win. A week is 7 days.
* A month-day without a year is its next occurrence, today included (12月5日 said on Dec 6 is next
  year's). An explicit year is kept even if it is in the past: validation reports it.
* The end of a range without a year falls on or after the start (12月30日到1月2日 crosses the New
  Year), unless that would make a trip of more than a month: then it stays in the start's year, and
  the reversed range is left for validation to report (12月7日到12月5日).
* Chinese public holidays (元旦, 春节, 清明, 五一, 端午, 中秋, 国庆 and their English names) are their
  whole period off work from python-holidays (official schedule where published, else the statutory
  rules; see :mod:`.holidays_cn`): the next one not yet over, starting today if under way. Lunar days
  (除夕, 初一…初十, 元宵, 七夕, 重阳, 腊八) come from lunardate. 圣诞节 / Christmas = Dec 25, 平安夜 = Dec 24.
  "after New Year" / 春节后 is the first day after that period.
* 12/18 is month/day (18/12 can only be day/month); "18.12." with its final dot is day.month, 12.18
  month.day; 18号 / "the 18th" is the next 18th of a month; 下个月10号 is the 10th of next month.
* "a long weekend" is 3 days from Friday (this week's, or next week's for "next long weekend"),
  or from the day another expression names ("a long weekend starting Saturday": Saturday..Monday).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from .anchors import Anchor, DateRange, find_anchors
from .numbers import EN_NUM, ZH_NUM, parse_number

__all__ = ["DateMention", "DateRange", "mention_dates", "remove_dates", "resolve_dates"]

_RANGE_LINK = re.compile(
    r"\s*(?:出发|开始)?\s*(?:玩|待|住|呆)?\s*(?:-|–|—|~|～|到|至|to|till|until|through|thru|and)\s*",
    re.IGNORECASE,
)
_NUMBER = rf"(?<![\d.a-z])({ZH_NUM}|{EN_NUM})"
_DAYS = re.compile(rf"{_NUMBER}\s*(?:-\s*)?(?:个)?(?:天|日(?=游|行)|days?\b)", re.I)
_NIGHTS = re.compile(rf"{_NUMBER}\s*(?:-\s*)?(?:个)?(?:晚(?!上)|夜|nights?\b)", re.I)
_WEEKS = re.compile(
    rf"(?<![\d.a-z])({ZH_NUM}|{EN_NUM}|a)\s*(?:-\s*)?(?:个)?(?:周(?![末一二三四五六日天])|星期(?![一二三四五六日天])"
    r"|weeks?\b)",
    re.I,
)
_FORTNIGHT = re.compile(r"\bfortnight\b", re.IGNORECASE)
# A long weekend is three days: Friday..Sunday unless another anchor says where it starts ("starting Saturday").
_LONG_WEEKEND = re.compile(r"\b(?:(this|next|coming)\s+)?long\s+weekend\b|小长假", re.IGNORECASE)
_LONGEST_WRAP = timedelta(days=31)


@dataclass(frozen=True)
class DateMention:
    """What a text says about dates before defaults apply: an anchor period and/or a duration."""

    anchor: DateRange | None
    is_range: bool  # the anchor names both ends ("下周三到下周日"), so a duration does not move its end
    days: int | None


def resolve_dates(text: str, now: datetime) -> DateRange | None:
    """Calendar days a request talks about, or None when it names no date and no duration."""
    mention = mention_dates(text, now)
    if mention.anchor is None:
        if mention.days is None:
            return None
        start = now.date() + timedelta(days=1)
        return DateRange(start, start + timedelta(days=mention.days - 1))
    if mention.is_range or mention.days is None:
        return mention.anchor
    start = mention.anchor.start
    return DateRange(start, start + timedelta(days=mention.days - 1))


def mention_dates(text: str, now: datetime) -> DateMention:
    """The first date expression of `text` (a range when two are linked by 到 / to / -) and its duration."""
    today = now.date()
    anchors = find_anchors(text)
    days = _duration(_blank(text, anchors))
    long_weekend = _LONG_WEEKEND.search(text)
    if long_weekend and days is None:
        days = 3
    if not anchors:
        if long_weekend and long_weekend[0] != "小长假":
            return DateMention(_long_weekend_friday(today, long_weekend[1]), False, days)
        return DateMention(None, False, days)
    for first, second in itertools.pairwise(anchors):
        if _RANGE_LINK.fullmatch(text[first.end : second.begin]):
            pair = _pair(first, second, today)
            if pair is not None:
                return DateMention(pair, True, days)
            break
    return DateMention(anchors[0].resolve(today, today), anchors[0].is_range, days)


def _long_weekend_friday(today: date, which: str | None) -> DateRange:
    """The Friday a long weekend starts on: this week's (or the next one when it is past), or next week's."""
    friday = today + timedelta(days=(4 - today.weekday()) % 7)
    if which and which.lower() == "next" and today.weekday() <= 4:
        friday += timedelta(weeks=1)
    return DateRange(friday, friday)


def remove_dates(text: str) -> str:
    """`text` with every date and duration expression replaced by a space (to look for place names)."""
    text = _blank(text, find_anchors(text))
    for pattern in (_DAYS, _NIGHTS, _WEEKS, _FORTNIGHT, _LONG_WEEKEND):
        text = pattern.sub(" ", text)
    return text


def _pair(first: Anchor, second: Anchor, today: date) -> DateRange | None:
    start = first.resolve(today, today)
    if start is None:
        return None
    end = second.resolve(today, start.start)
    if end is not None and end.end - start.start > _LONGEST_WRAP:
        # A year-less end rolled into next year; prefer the reversed same-year reading, which
        # validation reports, over a silent year-long trip.
        same_year = second.resolve(today, date(start.start.year, 1, 1))
        if same_year is not None and same_year.end < start.start:
            end = same_year
    return DateRange(start.start, end.end) if end is not None else None


def _blank(text: str, anchors: list[Anchor]) -> str:
    for anchor in reversed(anchors):
        text = text[: anchor.begin] + " " + text[anchor.end :]
    return text


def _duration(text: str) -> int | None:
    """Trip length in days from 3天 / three days / 一周 / 两晚 (nights + 1); days win over nights."""
    if match := _DAYS.search(text):
        return _positive(match[1])
    if match := _WEEKS.search(text):
        weeks = _positive("1" if match[1].lower() == "a" else match[1])
        return None if weeks is None else weeks * 7
    if _FORTNIGHT.search(text):
        return 14
    if match := _NIGHTS.search(text):
        nights = _positive(match[1])
        return None if nights is None else nights + 1
    return None


def _positive(token: str) -> int | None:
    value = parse_number(token)
    return value if value else None
