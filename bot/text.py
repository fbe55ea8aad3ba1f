"""Which script a text is written in: the one CJK check of the project."""

from __future__ import annotations

import re

from bot.schemas import Language

# CJK ideographs: extension A, the unified block, the compatibility block
CJK_IDEOGRAPHS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CJK = re.compile(f"[{CJK_IDEOGRAPHS}]")


def has_cjk(text: str) -> bool:
    """True when the text has at least one CJK ideograph."""
    return CJK.search(text) is not None


def language_of(text: str) -> Language:
    """Chinese when the text has a CJK ideograph, else English (before, or without, reading the request)."""
    return Language.ZH if has_cjk(text) else Language.EN
