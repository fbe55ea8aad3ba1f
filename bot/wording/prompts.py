"""The suggested prompts a new assistant thread offers: one per kind of request, in the languages we read."""

from __future__ import annotations

SUGGESTED_PROMPTS: tuple[tuple[str, str], ...] = (  # (short title, the message it sends)
    ("杭州周边自驾游", "帮我做一个下周三到下周日杭州周边自驾游方案"),
    ("A weekend in Kyoto", "3 days in Kyoto next weekend"),
    ("杭州天气", "杭州明天天气"),
)
