"""Our Markdown reduced to what DingTalk's markdown messages and AI cards render.

DingTalk renders headings, bold, italics, links, images, flat lists and quotes. Tables, strikethrough,
inline code, fenced code, HTML and nested list indentation show as raw characters, so they become plain
text: a table row's cells joined with " · ", fences and separator rows dropped, nested items flattened.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"^\s*(```|~~~)")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_STRIKE = re.compile(r"~~(.+?)~~")
_CODE = re.compile(r"`([^`]+)`")
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
_NESTED_ITEM = re.compile(r"^\s+([-*+]|\d+\.)\s+")


def for_dingtalk(markdown: str) -> str:
    """``markdown`` with only what DingTalk renders; plain text passes unchanged."""
    lines = []
    for raw in _BREAK.sub("\n", markdown).split("\n"):
        if _FENCE.match(raw) or _TABLE_RULE.match(raw):
            continue
        row = raw.strip()
        text = " · ".join(c.strip() for c in row.strip("|").split("|")) if row[:1] == row[-1:] == "|" else raw
        text = _NESTED_ITEM.sub(lambda m: f"{m.group(1)} ", text)
        lines.append(_TAG.sub("", _CODE.sub(r"\1", _STRIKE.sub(r"\1", text))))
    return "\n".join(lines)
