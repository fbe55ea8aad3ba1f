"""Product wording: every phrase a chat surface shows about progress, one table per language.

Adapters pick the table by the request's language (``Progress.language``, the answer's payload) and
only format it (mrkdwn, DingTalk markdown, plain terminal lines); none of them defines a phrase.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.schemas import Language
from bot.text import language_of as text_language
from bot.wording.base import Wording
from bot.wording.en import WORDING as EN
from bot.wording.zh import WORDING as ZH

__all__ = ["Wording", "language_of", "reply_language", "wording"]


def wording(language: Language) -> Wording:
    """The table of ``language``."""
    return ZH if language == Language.ZH else EN


def language_of(text: str) -> Language:
    """The language of a text before the request is read: Chinese when it has a CJK ideograph.

    Only for the first "planning…" status, posted before the request is understood; everything later
    uses the language the request was read in.
    """
    return text_language(text)


def reply_language(payload: Mapping[str, Any]) -> Language:
    """The language of an answer, from its structured payload."""
    request = payload.get("request")
    value = request.get("language") if isinstance(request, Mapping) else None
    return Language.ZH if value == Language.ZH.value else Language.EN
