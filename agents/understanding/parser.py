"""From a chat message to a :class:`~bot.schemas.TripRequest`, and the checks on its dates.

Understanding is deterministic: keyword tables and date patterns, no model call, so the same
message always gives the same request and the supervisor can ask for what is missing.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from bot.errors import BadDates, EmptyRequest, RequestTooLong
from bot.schemas import Budget, Intent, Language, TravelMode, TripLeg, TripRequest
from bot.text import language_of

from .aliases import AliasIndex
from .dates import mention_dates, resolve_dates
from .destination import PlaceFinder, destination_of, guess_place
from .fields import (
    budget_of,
    intent_of,
    interests_of,
    is_around,
    mode_of,
)
from .notes import festival_note
from .party import party_of
from .shape import Shape, shape_of

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
    language = language_of(cleaned)
    start, end = _dates(cleaned, now, intent)
    shape = shape_of(cleaned, places.spans(cleaned) if isinstance(places, AliasIndex) else [])
    destination = _destination(cleaned, places, shape)
    legs: tuple[TripLeg, ...] = ()
    if intent is Intent.ITINERARY and shape.multi_city:
        start, end, legs = _legs(cleaned, now, shape, language)
    party = party_of(cleaned)
    return TripRequest(
        intent=intent,
        destination=destination,
        start_date=start,
        end_date=end,
        travelers=party.total if party else 1,
        children=party.children if party else 0,
        seniors=party.seniors if party else 0,
        mode=mode_of(cleaned) or TravelMode.UNSPECIFIED,
        budget=budget_of(cleaned) or Budget.UNSPECIFIED,
        interests=interests_of(cleaned),
        around=is_around(cleaned) and not legs,
        language=language,
        text=cleaned,
        origin=shape.origin,
        # "从上海自驾去婺源": the first day opens with the journey from the origin.
        arrive_from=shape.origin if shape.origin not in (None, destination) else None,
        legs=legs,
        notes=_notes(cleaned, now, language),
    )


def _destination(text: str, places: PlaceFinder, shape: Shape) -> str | None:
    """The first city visited; the origin ("从上海…") is never the destination."""
    if shape.stops:
        return shape.stops[0].place
    if shape.origin_span is not None:
        begin, end = shape.origin_span
        return guess_place(text[:begin] + " " + text[end:])  # an unknown place after a known origin
    return destination_of(text, places)


def _legs(text: str, now: datetime, shape: Shape, language: Language) -> tuple[date, date, tuple[TripLeg, ...]]:
    """Contiguous dates for every city in order; raises BadDates (asking back) when a share is unknown."""
    mention = mention_dates(text, now)
    shares = [stop.days for stop in shape.stops]
    span = mention.anchor.days if mention.anchor is not None and mention.is_range else None
    missing = [i for i, days in enumerate(shares) if days is None]
    if len(missing) == 1 and span is not None and span - sum(d or 0 for d in shares) >= 1:
        shares[missing[0]] = span - sum(d or 0 for d in shares)  # the rest of a stated range
    names = [stop.place for stop in shape.stops]
    written = [stop.written or stop.place for stop in shape.stops]
    if any(days is None for days in shares):
        raise BadDates("multi-city trip without every city's days",
                       user_message=_ask_split(language, written, span))
    days = [d for d in shares if d is not None]
    if span is not None and span != sum(days):
        raise BadDates(f"{span}-day range but the cities add up to {sum(days)} days",
                       user_message=_ask_mismatch(language, written, days, span))
    start = mention.anchor.start if mention.anchor is not None else now.date() + timedelta(days=1)
    legs: list[TripLeg] = []
    first = start
    for name, count in zip(names, days, strict=True):
        legs.append(TripLeg(destination=name, days=count, start_date=first,
                            end_date=first + timedelta(days=count - 1)))
        first += timedelta(days=count)
    return start, first - timedelta(days=1), tuple(legs)


def _notes(text: str, now: datetime, language: Language) -> tuple[str, ...]:
    note = festival_note(text, now.date(), language)
    return (note,) if note else ()


def _ask_split(language: Language, names: list[str], span: int | None) -> str:
    if language is Language.ZH:
        total = f"这{span}天里" if span else ""
        return f"这趟行程要去{'、'.join(names)}，{total}每个地方打算各待几天呢？例如“{names[0]}3天然后{names[1]}2天”。"
    total = f" of the {span} days" if span else ""
    return (f"You mention {', '.join(names)}. How many{total} days would you like in each? "
            f"E.g. “{names[0]} 3 days then {names[1]} 2 days”.")


def _ask_mismatch(language: Language, names: list[str], days: list[int], span: int) -> str:
    if language is Language.ZH:
        parts = "、".join(f"{n}{d}天" for n, d in zip(names, days, strict=True))
        return f"日期一共是{span}天，但{parts}加起来是{sum(days)}天。想按哪个来？"
    parts = ", ".join(f"{n} {d}" for n, d in zip(names, days, strict=True))
    return f"The dates cover {span} days but {parts} add up to {sum(days)}. Which should I plan?"


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
