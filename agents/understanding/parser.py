"""From a chat message to a :class:`~bot.schemas.TripRequest`, and the checks on its dates.

Understanding is deterministic: keyword tables and date patterns, no model call, so the same
message always gives the same request and the supervisor can ask for what is missing.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from bot.errors import BadDates, EmptyRequest, RequestTooLong
from bot.schemas import Budget, Intent, Language, TravelMode, TripRequest

from .dates import resolve_dates
from .destination import PlaceFinder, destination_of
from .fields import (
    budget_of,
    intent_of,
    interests_of,
    is_around,
    language_of,
    mode_of,
    travelers_of,
)

# "/trip", a Slack mention "<@U123>" or "<@U123|guide>", a DingTalk "@导游 " before the request.
_PREFIX = re.compile(r"\s*(?:/trip\b|<@[A-Za-z0-9]+(?:\|[^>]*)?>|@[^\s@]{1,16}(?=\s|$))", re.IGNORECASE)
WEATHER_DAYS = 3  # a weather question without dates covers today and the next two days


def clean_text(text: str) -> str:
    """The request without command or mention prefixes, whitespace collapsed."""
    while match := _PREFIX.match(text):
        text = text[match.end() :]
    return " ".join(text.split())


def understand(text: str, now: datetime, places: PlaceFinder, *, max_chars: int = 2000) -> TripRequest:
    """Parse a chat message into a trip request.

    Raises RequestTooLong above `max_chars` characters and EmptyRequest when nothing is left after
    removing "/trip" and mentions. Dates are resolved but not validated (see :func:`validate_dates`).
    """
    language = language_of(text)
    if len(text) > max_chars:
        raise RequestTooLong(f"{len(text)} characters > {max_chars}", user_message=_too_long(language, max_chars))
    cleaned = clean_text(text)
    if not cleaned:
        raise EmptyRequest("empty request", user_message=_empty(language))
    intent = intent_of(cleaned)
    start, end = _dates(cleaned, now, intent)
    return TripRequest(
        intent=intent,
        destination=destination_of(cleaned, places),
        start_date=start,
        end_date=end,
        travelers=travelers_of(cleaned) or 1,
        mode=mode_of(cleaned) or TravelMode.UNSPECIFIED,
        budget=budget_of(cleaned) or Budget.UNSPECIFIED,
        interests=interests_of(cleaned),
        around=is_around(cleaned),
        language=language_of(cleaned),
        text=cleaned,
    )


def _dates(text: str, now: datetime, intent: Intent) -> tuple[date | None, date | None]:
    found = resolve_dates(text, now)
    if found is not None:
        return found.start, found.end
    if intent is Intent.WEATHER:
        today = now.date()
        return today, today + timedelta(days=WEATHER_DAYS - 1)
    return None, None  # the supervisor asks when


def validate_dates(req: TripRequest, now: datetime, *, max_days: int = 16) -> None:
    """Check resolved dates; missing dates pass (the supervisor asks for them).

    Raises BadDates, with a message in the request's language, when the start is before today,
    the end is before the start, or the trip is longer than `max_days` days.
    """
    start, end = req.start_date, req.end_date
    zh = req.language is Language.ZH
    if start is not None and start < now.date():
        raise BadDates(f"start {start} is in the past", user_message=_past(zh, start))
    if start is None or end is None:
        return
    if end < start:
        raise BadDates(f"end {end} before start {start}", user_message=_reversed(zh, start, end))
    if req.days > max_days:
        raise BadDates(f"{req.days} days > {max_days}", user_message=_too_many_days(zh, req.days, max_days))


def _past(zh: bool, start: date) -> str:
    if zh:
        return f"开始日期 {start} 已经过去了，请换一个日期。"
    return f"The start date {start} is already in the past. Please pick another date."


def _reversed(zh: bool, start: date, end: date) -> str:
    if zh:
        return f"结束日期 {end} 早于开始日期 {start}，请检查一下日期。"
    return f"The end date {end} is before the start date {start}. Could you check the dates?"


def _too_many_days(zh: bool, days: int, max_days: int) -> str:
    if zh:
        return f"这趟行程有 {days} 天，我最多能规划 {max_days} 天，请缩短一些。"
    return f"That trip is {days} days long; I can plan up to {max_days} days. Could you shorten it?"


def _too_long(language: Language, max_chars: int) -> str:
    if language is Language.ZH:
        return f"消息太长了，请把行程需求控制在 {max_chars} 字以内。"
    return f"That message is too long for me. Please keep a trip request under {max_chars:,} characters."


def _empty(language: Language) -> str:
    if language is Language.ZH:
        return "告诉我想去哪里、什么时候去，比如“下周末去杭州玩两天”。"
    return EmptyRequest.user_message
