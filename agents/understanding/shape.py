"""The shape of a trip: where it starts (origin) and which cities it visits, with their shares of the days.

"从上海自驾去婺源": origin Shanghai, destination 婺源. "北京5天然后上海3天": Beijing for 5 days, then
Shanghai for 3. "3 days in Bangkok and 2 in Singapore": the same in English. A city named without its
share, when the others have theirs, is left with ``days=None``: the caller asks back instead of
guessing, and never drops it.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from .numbers import EN_NUM, ZH_NUM, parse_number

# The party sets out from this place: 从上海 / "from Shanghai" right before it.
_ORIGIN_BEFORE = re.compile(r"(?:从|由|自|\bfrom\s+|\bleaving\s+)\s*$", re.IGNORECASE)
# A sequence of cities: 然后 / 再去 / "then" / an arrow between two places.
_SEQUENCE = re.compile(
    r"然后|之后再|再去|再到|接着|随后|转战|最后去|→|->|—>|\bthen\b|\bfollowed\s+by\b|\bafter\s+that\b|\bon\s+to\b",
    re.IGNORECASE,
)
_LIST = re.compile(r"^\s*(?:和|、|,|，|与|跟|\+|&|\band\b|\bplus\b)\s*$", re.IGNORECASE)
_NUM = rf"({ZH_NUM}|{EN_NUM})"
_SHARE = re.compile(
    rf"(?<![\d.a-z]){_NUM}\s*(?:个)?(?:天|日(?!本)|days?\b|(晚|夜|nights?\b))|(?<![\d.a-z]){_NUM}\s+(?=in\b)",
    re.IGNORECASE,
)
_IN_PLACE = re.compile(r"^\s*(?:days?|nights?)?\s*(?:in|at)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Stop:
    """One city of the trip, with its days when the text says."""

    place: str
    days: int | None
    written: str = ""  # the name as the user wrote it (杭州), for questions back


@dataclass(frozen=True)
class Shape:
    """Origin and the cities visited, in order."""

    origin: str | None
    stops: tuple[Stop, ...]
    origin_span: tuple[int, int] | None = None

    @property
    def multi_city(self) -> bool:
        """True when the trip visits more than one city."""
        return len(self.stops) > 1


def _share_days(match: re.Match[str]) -> int | None:
    if match[1] is not None:
        value = parse_number(match[1])
        if value is None:
            return None
        return value + 1 if match[2] else value
    return parse_number(match[3])


def shape_of(text: str, spans: list[tuple[int, int, str]]) -> Shape:
    """Origin and stops of `text`, given the known places found in it (start, end, canonical name)."""
    origin: str | None = None
    origin_span: tuple[int, int] | None = None
    places: list[tuple[int, int, str]] = []
    for begin, end, name in spans:
        if origin is None and not places and _ORIGIN_BEFORE.search(text[max(0, begin - 10) : begin]):
            origin, origin_span = name, (begin, end)
        elif name != origin and all(name != p[2] for p in places):
            places.append((begin, end, name))
    if len(places) < 2:
        return Shape(origin, tuple(_stop(text, p, None) for p in places), origin_span)
    shares = _shares(text, places)
    linked = bool(_SEQUENCE.search(text)) or any(
        _LIST.match(text[a[1] : b[0]]) for a, b in itertools.pairwise(places)
    )
    if not linked and sum(d is not None for d in shares) < 2:
        # Two places without a link or their own days ("杭州周边，想去乌镇看看"): the first is the trip.
        return Shape(origin, (_stop(text, places[0], shares[0]),), origin_span)
    return Shape(origin, tuple(_stop(text, p, d) for p, d in zip(places, shares, strict=True)), origin_span)


def _stop(text: str, span: tuple[int, int, str], days: int | None) -> Stop:
    return Stop(span[2], days, text[span[0] : span[1]])


def _shares(text: str, places: list[tuple[int, int, str]]) -> list[int | None]:
    """Each place's days: "北京5天" (after it) or "3 days in Bangkok" / "2 in Singapore" (before it)."""
    shares: list[int | None] = [None] * len(places)
    for match in _SHARE.finditer(text):
        days = _share_days(match)
        if not days:
            continue
        owner = _owner(text, match, places)
        if owner is not None and shares[owner] is None:
            shares[owner] = days
    return shares


def _owner(text: str, match: re.Match[str], places: list[tuple[int, int, str]]) -> int | None:
    for index, (begin, _end, _name) in enumerate(places):
        if begin >= match.end() and _IN_PLACE.match(text[match.end() : begin]):
            return index  # "3 days in Bangkok"
    before = [i for i, (_b, end, _n) in enumerate(places) if end <= match.start()]
    return before[-1] if before else None
