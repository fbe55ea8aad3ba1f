"""Deterministic understanding of trip requests in Chinese and English.

``understand`` turns a chat message into a :class:`~bot.schemas.TripRequest`, ``validate_dates``
checks its dates, ``amend`` applies a follow-up ("改成3天", "make it cheaper") to a previous request,
and ``AliasIndex`` finds known places for them. Date conventions are in :mod:`.dates`.
"""

from .aliases import AliasIndex
from .dates import DateMention, DateRange, mention_dates, remove_dates, resolve_dates
from .destination import PlaceFinder, destination_of, guess_place
from .followup import amend
from .parser import clean_text, understand, validate_dates

__all__ = [
    "AliasIndex",
    "DateMention",
    "DateRange",
    "PlaceFinder",
    "amend",
    "clean_text",
    "destination_of",
    "guess_place",
    "mention_dates",
    "remove_dates",
    "resolve_dates",
    "understand",
    "validate_dates",
]
