"""resolve_dates: one test per supported expression, with a fixed Monday as now."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from agents.understanding import DateRange, mention_dates, remove_dates, resolve_dates

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)  # a Monday


def _range(start: str, end: str) -> DateRange:
    return DateRange(date.fromisoformat(start), date.fromisoformat(end))


def test_reference_request_next_wednesday_to_next_sunday() -> None:
    assert resolve_dates("帮我做一个下周三到下周日杭州周边自驾游方案", NOW) == _range("2026-12-02", "2026-12-06")


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("下周三到下周日", "2026-12-02", "2026-12-06"),
        ("这周末", "2026-11-28", "2026-11-29"),
        ("本周末", "2026-11-28", "2026-11-29"),
        ("下周末", "2026-12-05", "2026-12-06"),
        ("下下周末", "2026-12-12", "2026-12-13"),
        ("今天", "2026-11-23", "2026-11-23"),
        ("明天", "2026-11-24", "2026-11-24"),
        ("后天", "2026-11-25", "2026-11-25"),
        ("大后天", "2026-11-26", "2026-11-26"),
        ("后天开始玩四天", "2026-11-25", "2026-11-28"),
        ("12月5日到7日", "2026-12-05", "2026-12-07"),
        ("12月5-7日", "2026-12-05", "2026-12-07"),
        ("12月5号-12月7号", "2026-12-05", "2026-12-07"),
        ("12.5-12.7", "2026-12-05", "2026-12-07"),
        ("元旦", "2027-01-01", "2027-01-03"),  # the days off: Friday Jan 1 and the weekend
        ("元旦玩三天", "2027-01-01", "2027-01-03"),
        ("圣诞节", "2026-12-25", "2026-12-25"),
        ("国庆", "2027-10-01", "2027-10-05"),  # 2027 not published yet: statutory days + days in lieu
        ("国庆玩三天", "2027-10-01", "2027-10-03"),
        ("五一", "2027-05-01", "2027-05-04"),
        ("2026-12-05 to 2026-12-07", "2026-12-05", "2026-12-07"),
        ("2026年12月5日到2026年12月7日", "2026-12-05", "2026-12-07"),
        ("下周五", "2026-12-04", "2026-12-04"),
        ("这周五", "2026-11-27", "2026-11-27"),
        ("周五到周日", "2026-11-27", "2026-11-29"),
        ("下周", "2026-11-30", "2026-12-06"),
        ("两周后", "2026-12-07", "2026-12-07"),
    ],
)
def test_chinese_expressions(text: str, start: str, end: str) -> None:
    assert resolve_dates(text, NOW) == _range(start, end)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("today", "2026-11-23", "2026-11-23"),
        ("tomorrow", "2026-11-24", "2026-11-24"),
        ("the day after tomorrow", "2026-11-25", "2026-11-25"),
        ("this weekend", "2026-11-28", "2026-11-29"),
        ("next weekend", "2026-12-05", "2026-12-06"),
        ("the weekend after next", "2026-12-12", "2026-12-13"),
        ("next Friday for 3 days", "2026-12-04", "2026-12-06"),
        ("this Friday", "2026-11-27", "2026-11-27"),
        ("on Friday", "2026-11-27", "2026-11-27"),
        ("two nights from Dec 18", "2026-12-18", "2026-12-20"),
        ("from Dec 5 to Dec 7", "2026-12-05", "2026-12-07"),
        ("Dec 5-7", "2026-12-05", "2026-12-07"),
        ("December 5th to 7th", "2026-12-05", "2026-12-07"),
        ("5-7 December", "2026-12-05", "2026-12-07"),
        ("in two weeks", "2026-12-07", "2026-12-07"),
        ("Christmas", "2026-12-25", "2026-12-25"),
        ("New Year's Day", "2027-01-01", "2027-01-03"),
        ("next week", "2026-11-30", "2026-12-06"),
    ],
)
def test_english_expressions(text: str, start: str, end: str) -> None:
    assert resolve_dates(text, NOW) == _range(start, end)


@pytest.mark.parametrize(
    ("text", "end"),
    [
        ("3 days in Kyoto", "2026-11-26"),
        ("a 3-day trip", "2026-11-26"),
        ("three days", "2026-11-26"),
        ("3天", "2026-11-26"),
        ("三天两晚", "2026-11-26"),
        ("两天一夜", "2026-11-25"),
        ("两晚", "2026-11-26"),
        ("for a week", "2026-11-30"),
        ("一周", "2026-11-30"),
        ("十天", "2026-12-03"),
    ],
)
def test_duration_alone_starts_tomorrow(text: str, end: str) -> None:
    assert resolve_dates(text, NOW) == _range("2026-11-24", end)


def test_duration_on_a_weekend_starts_on_saturday() -> None:
    assert resolve_dates("3 days in Kyoto next weekend", NOW) == _range("2026-12-05", "2026-12-07")
    assert resolve_dates("下周末玩两天", NOW) == _range("2026-12-05", "2026-12-06")


def test_this_weekend_said_on_sunday_is_that_sunday() -> None:
    sunday = datetime(2026, 11, 29, 10, 0, tzinfo=SHANGHAI)
    assert resolve_dates("这周末", sunday) == _range("2026-11-29", "2026-11-29")


def test_month_day_already_past_this_year_is_next_year() -> None:
    december_20 = datetime(2026, 12, 20, 9, 0, tzinfo=SHANGHAI)
    assert resolve_dates("12月5日", december_20) == _range("2027-12-05", "2027-12-05")
    assert resolve_dates("Dec 5-7", december_20) == _range("2027-12-05", "2027-12-07")


def test_month_day_today_counts() -> None:
    december_5 = datetime(2026, 12, 5, 23, 0, tzinfo=SHANGHAI)
    assert resolve_dates("12月5日", december_5) == _range("2026-12-05", "2026-12-05")


def test_range_across_new_year() -> None:
    december_28 = datetime(2026, 12, 28, 9, 0, tzinfo=SHANGHAI)
    assert resolve_dates("12月30日到1月2日", december_28) == _range("2026-12-30", "2027-01-02")


def test_holiday_under_way_starts_today() -> None:
    october_3 = datetime(2026, 10, 3, 9, 0, tzinfo=SHANGHAI)
    assert resolve_dates("国庆", october_3) == _range("2026-10-03", "2026-10-07")


def test_today_is_taken_in_the_timezone_of_now() -> None:
    late_in_new_york = datetime(2026, 11, 23, 23, 0, tzinfo=ZoneInfo("America/New_York"))
    assert resolve_dates("tomorrow", late_in_new_york) == _range("2026-11-24", "2026-11-24")


def test_explicit_past_year_is_kept() -> None:
    assert resolve_dates("2025-12-05 to 2025-12-07", NOW) == _range("2025-12-05", "2025-12-07")


def test_reversed_range_is_kept_for_validation() -> None:
    assert resolve_dates("12月7日到12月5日", NOW) == _range("2026-12-07", "2026-12-05")
    assert resolve_dates("2026-12-07 to 2026-12-05", NOW) == _range("2026-12-07", "2026-12-05")


@pytest.mark.parametrize("text", ["asdkjh qwe", "帮我规划杭州行程", "预算3.5万", "", "Kyoto please"])
def test_no_dates(text: str) -> None:
    assert resolve_dates(text, NOW) is None


def test_invalid_calendar_day_is_ignored() -> None:
    assert resolve_dates("2月30日", NOW) is None


def test_mention_separates_anchor_and_duration() -> None:
    mention = mention_dates("下周末玩三天", NOW)
    assert mention.anchor == _range("2026-12-05", "2026-12-06")
    assert mention.days == 3
    assert not mention.is_range
    assert mention_dates("下周三到下周日", NOW).is_range


def test_remove_dates_leaves_the_place() -> None:
    assert remove_dates("下周三到下周日杭州周边").strip().endswith("杭州周边")
    assert "Dec" not in remove_dates("two nights in Tokyo from Dec 18")
