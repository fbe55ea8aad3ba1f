"""Which task goes first when the agents are backed up: the one place that decides a step's priority.

The task topics are PRIORITY topics (``bot/resources.py``): among messages waiting in the broker the highest
level (0-9) is delivered first, FIFO within a level. By default a user iterating on a plan ("改成3天") and a
weather-only question overtake new long itineraries, which take the longest and can wait the longest.

Operators change the defaults and promote whole workspaces, channels or users with
``TOURGUIDE_PRIORITY_RULES``: a comma-separated ``key=level`` list or a JSON object, e.g.
``followup=8,weather=6,user:U042=9,channel:C7=1``. Keys:

- ``itinerary``, ``long_itinerary``, ``weather``, ``followup``: the level of each kind of work;
- ``long_days``: from how many days an itinerary counts as long;
- ``workspace:ID``, ``channel:ID``, ``user:ID``: a fixed level for everything from there (a user's rule
  wins over a channel's, a channel's over a workspace's).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from bot.models import ConversationRef, Session, Step
from bot.schemas import Intent

MAX_LEVEL = 9  # the task topics have one queue per level (bot.resources.PRIORITY_LEVELS)
_KINDS = ("itinerary", "long_itinerary", "weather", "followup")
_SCOPES = ("user", "channel", "workspace")  # most specific first


@dataclass(frozen=True, slots=True)
class PriorityRules:
    """Levels by kind of work, and fixed levels for some workspaces, channels and users."""

    itinerary: int = 4
    long_itinerary: int = 2
    weather: int = 6
    followup: int = 7
    long_days: int = 4
    scoped: dict[str, int] = field(default_factory=dict)  # "user:U042" -> 9


def parse_rules(text: str) -> PriorityRules:
    """Rules from ``key=level,...`` or a JSON object; raises ValueError naming what is wrong."""
    text = text.strip()
    if not text:
        return PriorityRules()
    pairs: list[tuple[str, Any]]
    if text.startswith("{"):
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"priority rules are not valid JSON: {exc}") from exc
        if not isinstance(loaded, dict):
            raise ValueError("priority rules must be a JSON object")
        pairs = list(loaded.items())
    else:
        pairs = []
        for item in filter(None, (part.strip() for part in text.split(","))):
            key, sep, value = item.rpartition("=")
            if not sep or not key:
                raise ValueError(f"priority rule {item!r} is not key=level")
            pairs.append((key.strip(), value.strip()))
    kinds: dict[str, int] = {}
    scoped: dict[str, int] = {}
    for key, raw in pairs:
        try:
            level = int(raw)
        except (TypeError, ValueError):
            raise ValueError(f"priority rule {key!r}: {raw!r} is not a whole number") from None
        if key == "long_days":
            if level < 1:
                raise ValueError("priority rule long_days must be at least 1")
            kinds[key] = level
            continue
        if not 0 <= level <= MAX_LEVEL:
            raise ValueError(f"priority rule {key!r}: level {level} is outside 0-{MAX_LEVEL}")
        scope, colon, ident = key.partition(":")
        if key in _KINDS:
            kinds[key] = level
        elif colon and scope in _SCOPES and ident:
            scoped[key] = level
        else:
            raise ValueError(f"unknown priority rule {key!r} (kinds: {', '.join(_KINDS)}, long_days; "
                             "scopes: workspace:ID, channel:ID, user:ID)")
    return PriorityRules(**kinds, scoped=scoped)


class PriorityPolicy:
    """A step's priority level, from the rules and whether its session follows up an earlier one.

    A follow-up is a session in a conversation where this process started another one before; the
    memory of conversations is bounded and lost on restart (a resumed follow-up then counts as new work,
    which only costs it its head start).
    """

    def __init__(self, rules: PriorityRules | None = None, *, remembered: int = 10_000) -> None:
        self.rules = rules or PriorityRules()
        self._first_task: OrderedDict[str, str] = OrderedDict()  # conversation -> first task seen in it
        self._follow_ups: set[str] = set()
        self._remembered = remembered

    def level(self, session: Session, step: Step) -> int:
        """The priority to publish ``step`` of ``session`` with (0-9, higher first)."""
        fixed = self._scoped(session.ref)
        if fixed is not None:
            return fixed
        rules = self.rules
        if self._is_follow_up(session):
            return rules.followup
        if session.request.intent == Intent.WEATHER:
            return rules.weather
        if _days(session) >= rules.long_days:
            return rules.long_itinerary
        return rules.itinerary

    def _scoped(self, ref: ConversationRef) -> int | None:
        for key in (f"user:{ref.user}", f"channel:{ref.channel}", f"workspace:{ref.workspace}"):
            if not key.endswith(":") and key in self.rules.scoped:
                return self.rules.scoped[key]
        return None

    def _is_follow_up(self, session: Session) -> bool:
        if session.task_id in self._follow_ups:
            return True
        conversation = session.ref.key
        first = self._first_task.get(conversation)
        if first is None:
            self._first_task[conversation] = session.task_id
            while len(self._first_task) > self._remembered:
                self._first_task.popitem(last=False)
            return False
        self._first_task.move_to_end(conversation)
        if first == session.task_id:
            return False
        self._follow_ups.add(session.task_id)
        while len(self._follow_ups) > self._remembered:
            self._follow_ups.pop()
        return True


def _days(session: Session) -> int:
    request = session.request
    if request.legs:
        return sum(leg.days for leg in request.legs)
    if request.start_date is not None and request.end_date is not None:
        return (request.end_date - request.start_date).days + 1
    return 1
