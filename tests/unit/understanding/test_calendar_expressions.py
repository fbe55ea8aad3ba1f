"""Chinese public holidays, lunar dates and the written-out date formats of issue 12.

"today" is 2026-12-01 (a Tuesday): the next Spring Festival is 2027's, whose official schedule is not
published in python-holidays yet, so its period follows the statutory rules (除夕 Feb 5 .. Feb 10).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from agents.understanding import DateRange, resolve_dates
from agents.understanding.holidays_cn import Festival, next_period, period_in
from agents.understanding.notes import festival_note
from bot.schemas import Language

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def _range(start: str, end: str) -> DateRange:
    return DateRange(date.fromisoformat(start), date.fromisoformat(end))


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("春节", "2027-02-05", "2027-02-10"),
        ("春节去哈尔滨五天", "2027-02-05", "2027-02-09"),
        ("春节期间，5天", "2027-02-05", "2027-02-09"),
        ("过年去三亚", "2027-02-05", "2027-02-10"),
        ("Chinese New Year in Harbin", "2027-02-05", "2027-02-10"),
        ("Chinese New Year's Day 2027", "2027-02-06", "2027-02-06"),
        ("除夕", "2027-02-05", "2027-02-05"),
        ("大年初一到初五", "2027-02-06", "2027-02-10"),
        ("初三", "2027-02-08", "2027-02-08"),
        ("元宵节", "2027-02-20", "2027-02-20"),
        ("清明", "2027-04-03", "2027-04-05"),
        ("端午", "2027-06-09", "2027-06-09"),
        ("中秋", "2027-09-15", "2027-09-15"),
        ("golden week", "2027-10-01", "2027-10-05"),
        ("元旦", "2027-01-01", "2027-01-03"),
        ("春节后去三亚玩5天", "2027-02-11", "2027-02-15"),
        ("after New Year, 3 days", "2027-01-04", "2027-01-06"),
        ("12/18-12/20", "2026-12-18", "2026-12-20"),
        ("18/12 to 20/12", "2026-12-18", "2026-12-20"),
        ("18.12.-20.12.", "2026-12-18", "2026-12-20"),
        ("Dec 12-14", "2026-12-12", "2026-12-14"),
        ("the 20th to the 23rd", "2026-12-20", "2026-12-23"),
        ("下个月10号到12号", "2027-01-10", "2027-01-12"),
        ("20号到23号", "2026-12-20", "2026-12-23"),
        ("3晚4天", "2026-12-02", "2026-12-05"),
        ("三晚", "2026-12-02", "2026-12-05"),
        ("一周", "2026-12-02", "2026-12-08"),
        ("a long weekend", "2026-12-04", "2026-12-06"),
        ("a long weekend starting this Friday", "2026-12-04", "2026-12-06"),
        ("a long weekend starting Saturday", "2026-12-05", "2026-12-07"),
        ("next long weekend", "2026-12-11", "2026-12-13"),
    ],
)
def test_expression(text: str, start: str, end: str) -> None:
    assert resolve_dates(text, NOW) == _range(start, end)


def test_a_published_year_uses_the_official_schedule_with_its_swapped_days() -> None:
    # 2026: Feb 15 (Sun) .. Feb 23 (Mon) off; Feb 14 and Feb 28 are make-up workdays.
    period = period_in(Festival.SPRING, 2026)
    assert period is not None and period.official
    assert (period.start, period.end) == (date(2026, 2, 15), date(2026, 2, 23))
    national = period_in(Festival.NATIONAL, 2026)
    assert national is not None and (national.start, national.end) == (date(2026, 10, 1), date(2026, 10, 7))


def test_a_holiday_under_way_starts_today() -> None:
    period = next_period(Festival.NATIONAL, date(2026, 10, 3))
    assert period is not None and period.end == date(2026, 10, 7)
    assert resolve_dates("国庆", datetime(2026, 10, 3, 9, tzinfo=ZoneInfo("Asia/Shanghai"))) == _range(
        "2026-10-03", "2026-10-07")


def test_the_user_is_told_which_days_a_holiday_is_and_whether_that_is_official() -> None:
    zh = festival_note("春节去哈尔滨五天", NOW.date(), Language.ZH)
    assert "2027年春节假期为2月5日至2月10日" in zh and "推算" in zh
    en = festival_note("National Day in Beijing", date(2026, 9, 1), Language.EN)
    assert "Oct 1 to Oct 7" in en and "official" in en
    assert festival_note("3 days in Kyoto", NOW.date(), Language.EN) == ""
