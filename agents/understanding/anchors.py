"""Date anchors: the places in a text that name a day or a period ("下周三", "Dec 5", "国庆").

Finding an anchor does not need the current date; each anchor carries a resolver that turns it into
a :class:`DateRange` once "today" is known. Conventions are listed in :mod:`.dates`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from .holidays_cn import Festival, lunar_to_solar, new_years_eve, next_lunar, next_period
from .numbers import EN_NUM, ZH_NUM, parse_number


@dataclass(frozen=True)
class DateRange:
    """An inclusive range of calendar days."""

    start: date
    end: date

    @property
    def days(self) -> int:
        """Number of calendar days in the range (0 or less when it is reversed)."""
        return (self.end - self.start).days + 1


# (today, not_before) -> range. not_before is today for the first anchor of a text and the trip's
# start for the end of a range, so year-less dates and bare weekdays fall after the start.
Resolver = Callable[[date, date], DateRange | None]


@dataclass(frozen=True)
class Anchor:
    """One date expression found in a text: where it is and how to resolve it."""

    begin: int
    end: int
    resolve: Resolver
    is_range: bool = False  # the expression itself names both ends ("12月5日到7日", "Dec 5-7")


MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
WEEKDAYS_EN = {"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6}
WEEKDAYS_ZH = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
WEEK_OFFSETS = {"这": 0, "本": 0, "this": 0, "coming": 0, "下": 1, "next": 1, "下下": 2}
RELATIVE_DAYS = {
    "今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2, "大后天": 3,
    "today": 0, "tonight": 0, "tomorrow": 1, "the day after tomorrow": 2,
}  # fmt: skip
# (month, day, number of days): holidays that are not Chinese public holidays (those come from
# python-holidays with their official days off, see FESTIVALS).
HOLIDAYS = {
    "平安夜": (12, 24, 1), "christmas eve": (12, 24, 1),
    "圣诞节": (12, 25, 1), "圣诞": (12, 25, 1), "christmas day": (12, 25, 1), "christmas": (12, 25, 1),
}  # fmt: skip
# Chinese public holidays: the whole period off work (春节 2027 = 除夕 Feb 5 .. Feb 10).
FESTIVALS = {
    "元旦": Festival.NEW_YEAR, "元旦假期": Festival.NEW_YEAR, "new year's day": Festival.NEW_YEAR,
    "new year holiday": Festival.NEW_YEAR,
    "春节": Festival.SPRING, "春节假期": Festival.SPRING, "春节期间": Festival.SPRING, "过年": Festival.SPRING,
    "新春": Festival.SPRING, "chinese new year": Festival.SPRING, "lunar new year": Festival.SPRING,
    "spring festival": Festival.SPRING, "cny": Festival.SPRING,
    "清明": Festival.QINGMING, "清明节": Festival.QINGMING, "qingming": Festival.QINGMING,
    "qingming festival": Festival.QINGMING, "tomb-sweeping day": Festival.QINGMING,
    "五一": Festival.LABOUR, "劳动节": Festival.LABOUR, "五一假期": Festival.LABOUR, "may day": Festival.LABOUR,
    "labour day": Festival.LABOUR, "labor day": Festival.LABOUR,
    "端午": Festival.DRAGON_BOAT, "端午节": Festival.DRAGON_BOAT, "dragon boat festival": Festival.DRAGON_BOAT,
    "中秋": Festival.MID_AUTUMN, "中秋节": Festival.MID_AUTUMN, "mid-autumn festival": Festival.MID_AUTUMN,
    "mid autumn festival": Festival.MID_AUTUMN, "moon festival": Festival.MID_AUTUMN,
    "国庆": Festival.NATIONAL, "国庆节": Festival.NATIONAL, "十一黄金周": Festival.NATIONAL,
    "十一假期": Festival.NATIONAL, "国庆假期": Festival.NATIONAL, "national day": Festival.NATIONAL,
    "golden week": Festival.NATIONAL,
}  # fmt: skip
# Single lunar days: (lunar month, lunar day); (12, 30) stands for 除夕, the last day of the year.
LUNAR_DAYS = {
    "除夕": (12, 30), "大年三十": (12, 30), "年三十": (12, 30), "chinese new year's eve": (12, 30),
    "大年初一": (1, 1), "正月初一": (1, 1), "chinese new year's day": (1, 1),
    "元宵": (1, 15), "元宵节": (1, 15), "正月十五": (1, 15), "lantern festival": (1, 15),
    "七夕": (7, 7), "重阳": (9, 9), "重阳节": (9, 9), "腊八": (12, 8),
}  # fmt: skip

_MONTH = (
    r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)(?![a-z])\.?"
)
_ORD = r"(?:st|nd|rd|th)?"
_CONN = r"\s*(?:-|–|—|~|～|到|至|to|till|until|through|thru)\s*"
_ZH_WEEK = r"(?:周|星期|礼拜)"
_ZH_DAY_NUM = r"[一二三四五六七八九十]"


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _relative(days: int) -> Resolver:
    def resolve(today: date, not_before: date) -> DateRange:
        day = today + timedelta(days=days)
        return DateRange(day, day)

    return resolve


def _weekday(weekday: int, weeks: int | None) -> Resolver:
    """A weekday of a given calendar week, or (weeks None) the first one on or after not_before."""

    def resolve(today: date, not_before: date) -> DateRange:
        if weeks is None:
            day = not_before + timedelta(days=(weekday - not_before.weekday()) % 7)
        else:
            day = _monday(today) + timedelta(weeks=weeks, days=weekday)
        return DateRange(day, day)

    return resolve


def _week(weeks: int, first: int, last: int) -> Resolver:
    """Days first..last (0 = Monday) of the week `weeks` after this one; never starting before today."""

    def resolve(today: date, not_before: date) -> DateRange:
        monday = _monday(today) + timedelta(weeks=weeks)
        return DateRange(max(monday + timedelta(days=first), today), monday + timedelta(days=last))

    return resolve


def _next_month_day(month: int, day: int, not_before: date) -> date | None:
    for year in range(not_before.year, not_before.year + 5):  # 5 years reach the next Feb 29
        try:
            found = date(year, month, day)
        except ValueError:
            continue
        if found >= not_before:
            return found
    return None


def _month_day(month: int, day: int, year: int | None) -> Resolver:
    def resolve(today: date, not_before: date) -> DateRange | None:
        try:
            found = date(year, month, day) if year else _next_month_day(month, day, not_before)
        except ValueError:
            return None
        return DateRange(found, found) if found else None

    return resolve


def _month_day_range(month: int, first: int, last: int, year: int | None) -> Resolver:
    def resolve(today: date, not_before: date) -> DateRange | None:
        start = _month_day(month, first, year)(today, not_before)
        try:
            return DateRange(start.start, date(start.start.year, month, last)) if start else None
        except ValueError:
            return None

    return resolve


def _holiday(month: int, day: int, length: int) -> Resolver:
    """Next holiday not yet over; when it is under way, it starts today."""

    def resolve(today: date, not_before: date) -> DateRange:
        start = date(not_before.year, month, day)
        if start + timedelta(days=length - 1) < not_before:
            start = date(not_before.year + 1, month, day)
        return DateRange(max(start, not_before), start + timedelta(days=length - 1))

    return resolve


def _festival(festival: Festival) -> Resolver:
    """The festival's next period off work; when it is under way, it starts today."""

    def resolve(today: date, not_before: date) -> DateRange | None:
        found = next_period(festival, not_before)
        return None if found is None else DateRange(max(found.start, not_before), found.end)

    return resolve


def _after_festival(festival: Festival) -> Resolver:
    """"after New Year" / 春节后: the first day after the festival's next period off."""

    def resolve(today: date, not_before: date) -> DateRange | None:
        found = next_period(festival, not_before)
        if found is None:
            return None
        day = found.end + timedelta(days=1)
        return DateRange(day, day)

    return resolve


def _lunar(month: int, day: int, year: int | None = None) -> Resolver:
    def resolve(today: date, not_before: date) -> DateRange | None:
        if year is not None:
            found = new_years_eve(year + 1) if (month, day) == (12, 30) else lunar_to_solar(year, month, day)
        else:
            found = next_lunar(month, day, not_before)
        return None if found is None else DateRange(found, found)

    return resolve


def _day_of_month(day: int, months_ahead: int | None) -> Resolver:
    """The N-th of a month: of this/next month (months_ahead), or the next one on or after not_before."""

    def resolve(today: date, not_before: date) -> DateRange | None:
        if months_ahead is not None:
            month_index = today.year * 12 + today.month - 1 + months_ahead
            year, month = divmod(month_index, 12)
            try:
                found = date(year, month + 1, day)
            except ValueError:
                return None
            return DateRange(found, found)
        for ahead in range(3):
            month_index = not_before.year * 12 + not_before.month - 1 + ahead
            year, month = divmod(month_index, 12)
            try:
                found = date(year, month + 1, day)
            except ValueError:
                continue
            if found >= not_before:
                return DateRange(found, found)
        return None

    return resolve


def _slash(first: int, second: int, year: int | None) -> Resolver:
    """12/18 is month/day; 18/12 (first above 12) can only be day/month."""
    if first > 12 >= second:
        first, second = second, first
    return _month_day(first, second, year)


def _month(name: str) -> int:
    return MONTHS[name[:3].lower()]


def _num(text: str) -> int:
    value = parse_number(text)
    return 0 if value is None else value


def _year(text: str | None) -> int | None:
    return int(text) if text else None


def _keyword_pattern(words: Mapping[str, object]) -> str:
    alternatives = "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in sorted(words, key=len, reverse=True))
    return rf"(?<![a-z])(?:{alternatives})(?![a-z])"


# Each pattern comes with a factory turning its match into a resolver. Overlaps are settled by
# position then length in find_anchors, so "下周三" beats "周三" and "大后天" beats "后天".
# fmt: off
_PATTERNS: list[tuple[str, Callable[[re.Match[str]], Resolver], bool]] = [
    (r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?",
     lambda m: _month_day(int(m[2]), int(m[3]), int(m[1])), False),
    (r"(?:(\d{4})\s*年\s*)?(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?",
     lambda m: _month_day(int(m[2]), int(m[3]), _year(m[1])), False),
    (r"(?:(\d{4})\s*年\s*)?(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?" + _CONN + r"(\d{1,2})(?:\s*[日号]|(?![\d月.天晚夜]))",
     lambda m: _month_day_range(int(m[2]), int(m[3]), int(m[4]), _year(m[1])), True),
    (r"(?<![\d.])(\d{1,2})\.(\d{1,2})(?![\d.]|\s*(?:天|日|晚|夜|万|千|元|块|%|km|days?|nights?))",
     lambda m: _month_day(int(m[1]), int(m[2]), None), False),
    (rf"\b{_MONTH}\s+(\d{{1,2}}){_ORD}\b(?:,?\s*(\d{{4}}))?",
     lambda m: _month_day(_month(m[1]), int(m[2]), _year(m[3])), False),
    (rf"\b(\d{{1,2}}){_ORD}\s+(?:of\s+)?{_MONTH}(?:,?\s*(\d{{4}}))?",
     lambda m: _month_day(_month(m[2]), int(m[1]), _year(m[3])), False),
    (rf"\b{_MONTH}\s+(\d{{1,2}}){_ORD}{_CONN}(\d{{1,2}}){_ORD}\b(?!\s*(?:days?|nights?|people|adults|:))",
     lambda m: _month_day_range(_month(m[1]), int(m[2]), int(m[3]), None), True),
    (rf"\b(\d{{1,2}}){_ORD}{_CONN}(\d{{1,2}}){_ORD}\s+(?:of\s+)?{_MONTH}",
     lambda m: _month_day_range(_month(m[3]), int(m[1]), int(m[2]), None), True),
    (_keyword_pattern(RELATIVE_DAYS), lambda m: _relative(RELATIVE_DAYS[" ".join(m[0].lower().split())]), False),
    (rf"(下下|下|这|本)?个?{_ZH_WEEK}([一二三四五六日天])",
     lambda m: _weekday(WEEKDAYS_ZH[m[2]], WEEK_OFFSETS[m[1]] if m[1] else None), False),
    (rf"\b(?:(this|next|coming|this\s+coming)\s+|on\s+)?({'|'.join(WEEKDAYS_EN)})\b",
     lambda m: _weekday(WEEKDAYS_EN[m[2].lower()], WEEK_OFFSETS[m[1].split()[-1].lower()] if m[1] else None),
     False),
    (r"(下下|下|这|本)?个?周末", lambda m: _week(WEEK_OFFSETS[m[1]] if m[1] else 0, 5, 6), False),
    (r"\b(?:(this|next|coming)\s+|the\s+|at\s+the\s+)?(?<!long\s)weekend\b",
     lambda m: _week(WEEK_OFFSETS[m[1].lower()] if m[1] else 0, 5, 6), False),
    (r"\b(?:the\s+)?weekend\s+after\s+next\b", lambda m: _week(2, 5, 6), False),
    (rf"(下下|下)个?{_ZH_WEEK}(?![一二三四五六日天末])", lambda m: _week(WEEK_OFFSETS[m[1]], 0, 6), False),
    (r"\bnext\s+week\b", lambda m: _week(1, 0, 6), False),
    (r"\b(?:the\s+)?week\s+after\s+next\b", lambda m: _week(2, 0, 6), False),
    (rf"\bin\s+({EN_NUM}|a)\s+(days?|weeks?)\b",
     lambda m: _relative(_num("1" if m[1].lower() == "a" else m[1]) * (7 if m[2][0] in "wW" else 1)), False),
    (rf"({ZH_NUM})\s*(天|个?{_ZH_WEEK})(?:之|以)?后",
     lambda m: _relative(_num(m[1]) * (1 if m[2] == "天" else 7)), False),
    (_keyword_pattern(HOLIDAYS), lambda m: _holiday(*HOLIDAYS[" ".join(m[0].lower().split())]), False),
    (_keyword_pattern(FESTIVALS), lambda m: _festival(FESTIVALS[" ".join(m[0].lower().split())]), False),
    (_keyword_pattern(LUNAR_DAYS) + r"(?:\s*,?\s*(\d{4}))?",
     lambda m: _lunar(*LUNAR_DAYS[" ".join(m[0].lower().split()).rstrip("0123456789, ")], _year(m[1])), False),
    (rf"(?:正月|大年)?初({_ZH_DAY_NUM})(?![一二三四五六七八九十\d])",
     lambda m: _lunar(1, _num(m[1])), False),
    (r"\bafter\s+(?:the\s+)?new\s+year(?:'s(?:\s+day)?)?(?:\s+holidays?)?\b",
     lambda m: _after_festival(Festival.NEW_YEAR), False),
    (r"\bafter\s+(?:the\s+)?(?:chinese|lunar)\s+new\s+year\b|\bafter\s+(?:the\s+)?spring\s+festival\b",
     lambda m: _after_festival(Festival.SPRING), False),
    (r"元旦(?:假期)?(?:之|以)?后", lambda m: _after_festival(Festival.NEW_YEAR), False),
    (r"(?:春节|过年)(?:假期)?(?:之|以)?后|过完年", lambda m: _after_festival(Festival.SPRING), False),
    (r"(?<![\d/])(\d{1,2})/(\d{1,2})(?:/(\d{4}))?(?![\d/])",
     lambda m: _slash(int(m[1]), int(m[2]), _year(m[3])), False),
    (r"(?<![\d.])(\d{1,2})\.(\d{1,2})\.(\d{4})?(?!\d)",
     lambda m: _month_day(int(m[2]), int(m[1]), _year(m[3])), False),
    (r"(下个?月|这个?月|本月)\s*(\d{1,2}|[一二三四五六七八九十]{1,3})\s*[号日]",
     lambda m: _day_of_month(_num(m[2]), 0 if m[1][0] in "这本" else 1), False),
    (r"(?<![\d月.])(\d{1,2})\s*号", lambda m: _day_of_month(int(m[1]), None), False),
    (r"\bthe\s+(\d{1,2})(?:st|nd|rd|th)\b(?!\s+(?:of\s+)?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))",
     lambda m: _day_of_month(int(m[1]), None), False),
]
# fmt: on
_COMPILED = [(re.compile(p, re.IGNORECASE), f, r) for p, f, r in _PATTERNS]


def _all_matches(text: str) -> Iterator[Anchor]:
    for pattern, factory, is_range in _COMPILED:
        for match in pattern.finditer(text):
            yield Anchor(match.start(), match.end(), factory(match), is_range)


def find_anchors(text: str) -> list[Anchor]:
    """Non-overlapping date expressions of `text`, left to right; the longest wins an overlap."""
    chosen: list[Anchor] = []
    for anchor in sorted(_all_matches(text), key=lambda a: (a.begin, a.begin - a.end)):
        if not chosen or anchor.begin >= chosen[-1].end:
            chosen.append(anchor)
    return chosen
