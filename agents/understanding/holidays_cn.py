"""Chinese public holidays and lunar dates, from maintained libraries instead of hand-written tables.

* ``holidays`` (python-holidays, released every few weeks) knows China's statutory holidays and, for
  every year the State Council has published, the official day-off schedule (days swapped with
  weekend workdays). A holiday's *period* is the run of consecutive days off around it: official
  holiday days, plus weekends that are not make-up workdays. For a year whose schedule is not
  published yet the library applies the statutory rules (days in lieu for weekends); the period is
  then marked as not official so the answer can say so.
* ``lunardate`` converts lunar dates (除夕, 初一…初十, 元宵, 七夕, 重阳, 腊八) to the Gregorian calendar.

Other candidates: ``chinese-calendar`` (official schedules too, but its last release only covers the
schedules up to 2026), ``zhdate`` and ``lunarcalendar`` (lunar conversion only, unmaintained since
2023 and 2018).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

import lunardate  # type: ignore[import-untyped]
from holidays import HolidayBase, country_holidays


class Festival(StrEnum):
    """The public holidays with a multi-day period off work; values are python-holidays' names."""

    NEW_YEAR = "New Year's Day"
    SPRING = "Chinese New Year"
    QINGMING = "Tomb-Sweeping Day"
    LABOUR = "Labor Day"
    DRAGON_BOAT = "Dragon Boat Festival"
    MID_AUTUMN = "Mid-Autumn Festival"
    NATIONAL = "National Day"


@dataclass(frozen=True)
class HolidayPeriod:
    """Consecutive days off around a public holiday."""

    festival: Festival
    start: date
    end: date
    official: bool  # the State Council's schedule for that year is known (else: statutory rules)


@functools.cache
def _calendar(year: int) -> HolidayBase:
    return country_holidays("CN", years=year)


def _day_off(day: date) -> bool:
    calendar = _calendar(day.year)
    if day in calendar:
        return True
    return day.weekday() >= 5 and day not in getattr(calendar, "weekend_workdays", set())


def _official(year: int) -> bool:
    special = getattr(_calendar(year), "special_public_holidays", {})
    return isinstance(special, dict) and year in special


def _festival_days(festival: Festival, year: int) -> list[date]:
    return sorted(day for day, name in _calendar(year).items() if str(name).startswith(festival.value))


def period_in(festival: Festival, year: int) -> HolidayPeriod | None:
    """The days-off period of ``festival`` in ``year`` (None when the library has no such day)."""
    days = _festival_days(festival, year)
    if not days:
        return None
    start, end = days[0], days[-1]
    while _day_off(start - timedelta(days=1)):
        start -= timedelta(days=1)
    while _day_off(end + timedelta(days=1)):
        end += timedelta(days=1)
    return HolidayPeriod(festival, start, end, _official(year))


def next_period(festival: Festival, not_before: date) -> HolidayPeriod | None:
    """The next period of ``festival`` that is not over on ``not_before``."""
    for year in (not_before.year, not_before.year + 1):
        found = period_in(festival, year)
        if found is not None and found.end >= not_before:
            return found
    return None


def lunar_to_solar(year: int, month: int, day: int) -> date | None:
    """The Gregorian date of lunar ``year``-``month``-``day`` (None when out of the library's range)."""
    try:
        solar: date = lunardate.LunarDate(year, month, day).to_solar_date()
    except ValueError:
        return None
    return solar


def new_years_eve(lunar_year: int) -> date | None:
    """除夕: the last day of the lunar year before ``lunar_year`` (the 12th month has 29 or 30 days)."""
    first = lunar_to_solar(lunar_year, 1, 1)
    return None if first is None else first - timedelta(days=1)


def next_lunar(month: int, day: int, not_before: date) -> date | None:
    """The next Gregorian date of lunar ``month``-``day`` on or after ``not_before``."""
    for year in (not_before.year - 1, not_before.year, not_before.year + 1):
        found = new_years_eve(year + 1) if (month, day) == (12, 30) else lunar_to_solar(year, month, day)
        if found is not None and found >= not_before:
            return found
    return None
