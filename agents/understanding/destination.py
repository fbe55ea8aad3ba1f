"""Where a request wants to go: a known place from the finder, else the name as the user wrote it.

The guess exists so the supervisor can answer "I don't know X" honestly instead of planning for
a place it silently dropped; it is a few patterns (去X玩, X周边, X自驾游, "trip to X", "in X"), not
a gazetteer, and returns None rather than a doubtful word.
"""

from __future__ import annotations

import re
from typing import Protocol

from .dates import remove_dates


class PlaceFinder(Protocol):
    """Anything that can spot a known place in free text (e.g. :class:`.aliases.AliasIndex`)."""

    def find_in(self, text: str) -> str | None:
        """Canonical name of the place mentioned in `text`, or None."""
        ...


_HAN = r"[\u4e00-\u9fff]"
_ZH_PATTERNS = (
    re.compile(rf"(?:自驾|开车|坐高铁|坐火车|飞)?(?:去|到|前往)({_HAN}{{2,6}}?)(?=$|[，。,.!！？?\s]|玩|旅游|旅行|度假)"),
    re.compile(rf"(?:去|到|在|来)({_HAN}{{2,10}}?)(?:玩|旅游|旅行|游玩|自驾|看看|逛逛|度假|转转|待|住|过)"),
    re.compile(rf"({_HAN}{{2,12}}?)\s*(?:周边|附近|自驾|旅游|旅行|游|的天气|天气|攻略|行程)"),
)
# Words that come before a place name in a request ("帮我做一个杭州…"); the name starts after the last.
_ZH_FILLER = re.compile(
    r"帮|给|我|们|想|要|请|做|规划|安排|计划|一下|一个|个|份|趟|次|去|到|在|往|来|和|跟|从|玩|的|出"
)
_EN_LEAD = re.compile(r"\b(?:to|in|visit|visiting|around|near|explore|exploring)\s+", re.IGNORECASE)
_EN_WORD = re.compile(r"[A-Za-z][A-Za-z'.-]*")
# Words that end an English place name: "in Kyoto next weekend", "to Paris with kids".
_EN_STOP_WORDS = """a an the my our your his her their this that these those it there here me us you i for with from on
    at and or but by of in to into next last coming during over per about around near instead please
    cheap budget luxury day days night nights week weeks weekend weekends month months year time total
    person people adults adult kids children family couple car train bus plan trip trips travel tour
    weather rain forecast temperature what which how will would be is are was do does can could should
    today tomorrow tonight morning afternoon evening spring summer autumn fall winter
    january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec
    monday tuesday wednesday thursday friday saturday sunday mind advance detail general
    visit visiting explore exploring go going see fly flying drive driving head heading stay spend"""
_EN_STOP = frozenset(_EN_STOP_WORDS.split())
_EN_MAX_WORDS = 3


def destination_of(text: str, places: PlaceFinder) -> str | None:
    """Known place in `text` (canonical name), else the guessed name of an unknown one, else None."""
    return places.find_in(text) or guess_place(text)


def guess_place(text: str) -> str | None:
    """Best-effort place name the user wrote; English names are title-cased."""
    text = remove_dates(text)
    return _guess_zh(text) or _guess_en(text)


def _guess_zh(text: str) -> str | None:
    for pattern in _ZH_PATTERNS:
        for match in pattern.finditer(text):
            name = _ZH_FILLER.split(match[1])[-1]
            if len(name) >= 2:
                return name
    return None


def _guess_en(text: str) -> str | None:
    for lead in _EN_LEAD.finditer(text):
        if name := _name_from(text[lead.end() :]):
            return name
    return None


def _name_from(rest: str) -> str | None:
    """Up to three leading words of `rest` that can be part of a place name ("the" skipped)."""
    tokens = rest.split()
    if tokens and tokens[0].lower() == "the":
        tokens = tokens[1:]
    words: list[str] = []
    for token in tokens[:_EN_MAX_WORDS]:
        word = token.strip(',.;:!?()"')
        if not _EN_WORD.fullmatch(word) or word.lower() in _EN_STOP:
            break
        words.append(word[:1].upper() + word[1:])
        if token != word:  # punctuation ends the name: "in Kyoto, next weekend"
            break
    return " ".join(words) or None
