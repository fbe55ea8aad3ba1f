"""Request understanding with an LLM: fields extracted with structured output, dates still ours.

The model fills a JSON schema (destinations with their days, origin, the words that name the dates,
party, budget, mode, interests). It never resolves a date: the *words* it quotes are resolved by the
deterministic resolver against the request's "now", so "春节" is the same holiday period either way.
The deterministic parse runs first and stays authoritative for what it found; the model fills what
it missed. When both read dates and they disagree, the user is asked instead of either being trusted.
Any model failure falls back to the deterministic parse alone.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agents.llm.base import ChatMessage, ChatModel
from bot.errors import BadDates, ConfigError, ExternalServiceError
from bot.schemas import Budget, Intent, Language, TravelMode, TripLeg, TripRequest

from .aliases import AliasIndex
from .dates import mention_dates, resolve_dates
from .parser import understand
from .party import party_of

log = logging.getLogger("tourguide.understanding")
EXTRACTION_TIMEOUT_S = 10.0  # then the deterministic parse answers alone

_NULLABLE_INT: dict[str, Any] = {"type": ["integer", "null"]}
_NULLABLE_STR: dict[str, Any] = {"type": ["string", "null"]}
EXTRACTION_SCHEMA: dict[str, Any] = {
    "name": "trip_request",
    "strict": True,
    "schema": {
        "type": "object",
        "additionalProperties": False,
        "required": ["intent", "destinations", "origin", "date_words", "travelers", "children", "seniors",
                     "budget", "mode", "interests"],
        "properties": {
            "intent": {"type": "string", "enum": ["itinerary", "weather"]},
            "destinations": {"type": "array", "items": {
                "type": "object", "additionalProperties": False, "required": ["name", "days"],
                "properties": {"name": {"type": "string"}, "days": _NULLABLE_INT}}},
            "origin": _NULLABLE_STR,
            "date_words": _NULLABLE_STR,
            "travelers": _NULLABLE_INT,
            "children": _NULLABLE_INT,
            "seniors": _NULLABLE_INT,
            "budget": {"type": "string", "enum": ["low", "medium", "high", "unspecified"]},
            "mode": {"type": "string", "enum": ["self_drive", "public_transport", "unspecified"]},
            "interests": {"type": "array", "items": {"type": "string"}},
        },
    },
}
_PROMPT = (
    "Extract the trip request from the user's message into the JSON schema. destinations: every place to "
    "visit, in order, each with its number of days when the message says (else null); origin: where the "
    "trip starts from, if said. date_words: copy the exact words of the message that name the dates or the "
    "trip length (e.g. \"下周三到下周日\", \"春节\", \"the 20th to the 23rd\", \"5天\"), do not compute "
    "dates. Unknown numbers are null. Answer with the JSON object only."
)


class _Stop(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str
    days: int | None = Field(default=None, ge=1, le=60)


class Extracted(BaseModel):
    """What the model read in the message (nothing resolved)."""

    model_config = ConfigDict(extra="ignore")
    intent: Literal["itinerary", "weather"] = "itinerary"
    destinations: list[_Stop] = []
    origin: str | None = None
    date_words: str | None = None
    travelers: int | None = Field(default=None, ge=1, le=100)
    children: int | None = Field(default=None, ge=0, le=100)
    seniors: int | None = Field(default=None, ge=0, le=100)
    budget: Budget = Budget.UNSPECIFIED
    mode: TravelMode = TravelMode.UNSPECIFIED
    interests: list[str] = []


class LLMUnderstanding:
    """``understand`` with an LLM filling the gaps of the deterministic parse."""

    def __init__(self, model: ChatModel, places: AliasIndex, *, timeout_s: float = EXTRACTION_TIMEOUT_S) -> None:
        self._model = model
        self._places = places
        self._timeout_s = timeout_s

    async def extract(self, text: str) -> Extracted | None:
        """The model's reading of `text`, or None when the model fails or answers nonsense."""
        messages = [ChatMessage.system(_PROMPT), ChatMessage.user(text)]
        try:
            # The intake waits for this before anything is queued: a slow model must not hold requests up.
            async with asyncio.timeout(self._timeout_s):
                result = await self._model.complete(messages, json_mode=True, json_schema=EXTRACTION_SCHEMA)
            start, end = result.content.find("{"), result.content.rfind("}")
            return Extracted.model_validate(json.loads(result.content[start : end + 1]))
        except (ExternalServiceError, ConfigError, ValidationError, ValueError, TimeoutError) as exc:
            log.warning("LLM extraction failed, using the deterministic parse: %s", exc)
            return None

    async def understand(self, text: str, now: datetime, *, max_chars: int = 2000) -> TripRequest:
        """The request; raises the deterministic parser's InputErrors, and BadDates when the model's
        date words resolve to other dates than the parser found."""
        base = understand(text, now, self._places, max_chars=max_chars)
        extracted = await self.extract(base.text)
        return base if extracted is None else merge(base, extracted, now, self._places)


def merge(base: TripRequest, extracted: Extracted, now: datetime, places: AliasIndex) -> TripRequest:
    """The deterministic request with the gaps filled from the model's reading; dates asked back on a conflict."""
    changes: dict[str, Any] = {}
    found = resolve_dates(extracted.date_words, now) if extracted.date_words else None
    # Quoted words may hold only the start ("from Dec 5" of "3 days from Dec 5"): a conflict is another
    # start, or another end when the words name both ends ("12月5日到8日").
    both_ends = bool(extracted.date_words) and mention_dates(extracted.date_words or "", now).is_range
    conflict = found is not None and base.start_date is not None and (
        found.start != base.start_date or (both_ends and found.end != base.end_date))
    if found is not None and conflict and not base.legs:
        raise BadDates("the LLM and the parser read different dates", user_message=_ask_dates(
            base.language, (base.start_date, base.end_date), (found.start, found.end)))
    if found is not None and base.start_date is None:
        changes["start_date"], changes["end_date"] = found.start, found.end
    names = [places.find_in(stop.name) or stop.name for stop in extracted.destinations]
    if base.destination is None and names:
        changes["destination"] = names[0]
    if base.origin is None and extracted.origin:
        changes["origin"] = places.find_in(extracted.origin) or extracted.origin
    start = changes.get("start_date", base.start_date)
    days = [stop.days for stop in extracted.destinations]
    if not base.legs and len(names) > 1 and base.intent is Intent.ITINERARY and all(days):
        first = start or now.date() + timedelta(days=1)
        changes.update(_legs(names, [d for d in days if d], first))
    if party_of(base.text) is None and extracted.travelers:
        changes["travelers"] = extracted.travelers
        changes["children"] = min(extracted.children or 0, extracted.travelers)
        changes["seniors"] = min(extracted.seniors or 0, extracted.travelers)
    if base.budget is Budget.UNSPECIFIED:
        changes["budget"] = extracted.budget
    if base.mode is TravelMode.UNSPECIFIED:
        changes["mode"] = extracted.mode
    return base.model_copy(update=changes)


def _legs(names: list[str], days: list[int], first: date) -> dict[str, Any]:
    legs, day = [], first
    for name, count in zip(names, days, strict=True):
        legs.append(TripLeg(destination=name, days=count, start_date=day, end_date=day + timedelta(days=count - 1)))
        day += timedelta(days=count)
    return {"legs": tuple(legs), "destination": names[0], "start_date": first, "end_date": day - timedelta(days=1),
            "around": False}


def _ask_dates(language: Language, ours: tuple[date | None, date | None], theirs: tuple[date, date]) -> str:
    if language is Language.ZH:
        return (f"我对日期有两种理解：{ours[0]} 至 {ours[1]}，或 {theirs[0]} 至 {theirs[1]}。"
                "是哪一种呢？可以直接告诉我具体日期。")
    return (f"I can read your dates two ways: {ours[0]} to {ours[1]}, or {theirs[0]} to {theirs[1]}. "
            "Which one do you mean? Exact dates help.")
