"""Follow-ups to a plan already made: "改成3天", "make it cheaper", "换成上海", "move it to next weekend".

:func:`amend` changes only what the follow-up mentions and keeps everything else. A message that
names a destination and dates is a new request, not a follow-up, and so is a weather question.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from bot.errors import BadDates
from bot.schemas import Budget, Intent, Language, TripRequest

from .dates import DateMention, mention_dates
from .destination import PlaceFinder, guess_place
from .fields import budget_of, intent_of, interests_of, is_around, mode_of, travelers_of
from .numbers import EN_NUM, ZH_NUM, parse_number
from .parser import clean_text

_EN_COUNT = rf"({EN_NUM}|an?)"
# (pattern, sign): "加一天" / "one more day" lengthen the trip, "少一天" / "one day less" shorten it.
_LENGTH_CHANGES = (
    (re.compile(rf"(?:再加|加|多玩|多待|多住|多|延长)\s*({ZH_NUM})\s*天"), 1),
    (re.compile(rf"(?:减少|减|缩短|少玩|少待|少住|少)\s*({ZH_NUM})\s*天"), -1),
    (re.compile(rf"\b{_EN_COUNT}\s+(?:more|extra)\s+days?\b", re.I), 1),
    (re.compile(rf"\b(?:add|extend(?:\s+it)?\s+by)\s+{_EN_COUNT}\s+(?:more\s+|extra\s+)?days?\b", re.I), 1),
    (re.compile(rf"\b{_EN_COUNT}\s+(?:fewer|less)\s+days?\b|\b{_EN_COUNT}\s+days?\s+(?:less|shorter)\b", re.I), -1),
    (re.compile(rf"\b(?:shorten|cut)(?:\s+it)?\s+by\s+{_EN_COUNT}\s+days?\b", re.I), -1),
)
_CHANGE_MARKERS = re.compile(
    r"换成|改成|改为|改去|换去|换到|变成|呢[?？]?$|\binstead\b|\bswitch\s+to\b|\bchange\s+(?:it\s+|the\s+\w+\s+)?to\b"
    r"|\bhow\s+about\b|\bwhat\s+about\b|\brather\b",
    re.IGNORECASE,
)
_ZH_NEW_PLACE = re.compile(r"(?:换成|改成|改为|改去|换去|换到|变成)\s*([\u4e00-\u9fff]{2,8})")
_PRICIER = re.compile(r"贵一点|贵点|高档|好一点的酒店|\bfancier\b|\bmore expensive\b|\bsplurge\b", re.I)


def amend(previous: TripRequest, text: str, now: datetime, places: PlaceFinder) -> TripRequest | None:
    """The previous request changed as `text` asks, or None when `text` is a new request.

    The result is not validated; call :func:`.parser.validate_dates` on it as on a new request.
    """
    cleaned = clean_text(text)
    if not cleaned or intent_of(cleaned) is Intent.WEATHER:
        return None
    rest, day_delta = _length_change(cleaned)
    mention = mention_dates(rest, now)
    known = places.find_in(cleaned)
    place = known or guess_place(cleaned)
    new_place = place if place is not None and place != previous.destination else None
    names_dates = mention.anchor is not None or mention.days is not None
    if new_place is not None and (names_dates or not _CHANGE_MARKERS.search(cleaned)):
        return None  # a destination with dates, or without a word like 换成 / instead: a new request
    changes = _changes(previous, cleaned, now, mention, day_delta)
    # A guessed name only counts when nothing else changed: "switch to public transport" is no place.
    if new_place is not None and (new_place == known or not changes):
        changes["destination"] = new_place
    elif not changes and (match := _ZH_NEW_PLACE.search(cleaned)):
        changes["destination"] = match[1]  # "改去乌镇": an unknown place the supervisor will report
    if not changes:
        return None
    if previous.legs:
        changes.update(_legs_changed(previous, changes))
    changes["text"] = f"{previous.text}\n{cleaned}" if previous.text else cleaned
    return TripRequest.model_validate(previous.model_dump() | changes)


def _legs_changed(previous: TripRequest, changes: dict[str, Any]) -> dict[str, Any]:
    """A multi-city trip moved to new dates keeps every city's share; a new length is asked back, since
    which city gains or loses the days cannot be guessed. A new destination replaces the whole tour."""
    if "destination" in changes:
        return {"legs": ()}
    if "start_date" not in changes or previous.start_date is None:
        return {}
    start, end = changes["start_date"], changes["end_date"]
    if (end - start).days + 1 != previous.days:
        names = "、".join(leg.destination for leg in previous.legs)
        raise BadDates("a multi-city trip changed length", user_message=(
            f"这趟行程包括{names}，新的天数要怎么分给每个城市呢？例如“{previous.legs[0].destination}3天然后"
            f"{previous.legs[1].destination}2天”。" if previous.language is Language.ZH else
            f"This trip covers {', '.join(leg.destination for leg in previous.legs)}. How should the new number of "
            f"days be split between them?"))
    shift = start - previous.start_date
    legs = [leg.model_copy(update={"start_date": leg.start_date + shift if leg.start_date else None,
                                   "end_date": leg.end_date + shift if leg.end_date else None})
            for leg in previous.legs]
    return {"legs": tuple(legs)}


def _changes(
    previous: TripRequest, text: str, now: datetime, mention: DateMention, day_delta: int | None
) -> dict[str, Any]:
    """Every field the follow-up sets, except the destination."""
    changes: dict[str, Any] = {}
    dates = _new_dates(previous, now, mention, day_delta)
    if dates is not None:
        changes["start_date"], changes["end_date"] = dates
    readers: tuple[tuple[str, Callable[[str], object]], ...] = (
        ("mode", mode_of),
        ("budget", _budget_of),
        ("travelers", travelers_of),
    )
    for field, reader in readers:
        if (value := reader(text)) is not None:
            changes[field] = value
    if added := [tag for tag in interests_of(text) if tag not in previous.interests]:
        changes["interests"] = (*previous.interests, *added)
    if is_around(text):
        changes["around"] = True
    return changes


def _budget_of(text: str) -> Budget | None:
    return Budget.HIGH if _PRICIER.search(text) else budget_of(text)


def _length_change(text: str) -> tuple[str, int | None]:
    """Days added (or removed, negative) by "加一天" / "one more day", and the text without them."""
    for pattern, sign in _LENGTH_CHANGES:
        if match := pattern.search(text):
            token = next(group for group in match.groups() if group)
            count = 1 if token.lower() in ("a", "an") else parse_number(token) or 0
            return text[: match.start()] + " " + text[match.end() :], sign * count
    return text, None


def _new_dates(
    previous: TripRequest, now: datetime, mention: DateMention, day_delta: int | None
) -> tuple[date, date] | None:
    """New (start, end), keeping the start for a new length and the length for a new start."""
    start, end = previous.start_date, previous.end_date
    if day_delta is not None and start is not None and end is not None:
        return start, max(start, end + timedelta(days=day_delta))
    anchor = mention.anchor
    if anchor is not None:
        if mention.is_range:
            return anchor.start, anchor.end
        days = mention.days or previous.days or anchor.days
        return anchor.start, anchor.start + timedelta(days=days - 1)
    if mention.days is not None:
        first = start or now.date() + timedelta(days=1)
        return first, first + timedelta(days=mention.days - 1)
    return None
