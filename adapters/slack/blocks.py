"""Our Markdown answers as Slack messages: mrkdwn sections within Block Kit's limits.

Limits (docs.slack.dev): 3,000 characters per section text, 50 blocks per message; Slack starts
refusing messages at roughly 13,000 characters of block text (``msg_blocks_too_long``), so one
message carries at most ``MESSAGE_CHARS``. Long plans become several messages in the thread.
Each message also has a plain ``text`` fallback for notifications and old clients.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.wording import Wording

SECTION_CHARS = 3000
MAX_BLOCKS = 50
MESSAGE_CHARS = 11_000
FALLBACK_CHARS = 3000

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_HEADING = re.compile(r"^#{1,6}\s+(.*)$")


@dataclass(frozen=True, slots=True)
class SlackMessage:
    """One chat.postMessage worth of content."""

    text: str  # plain fallback
    blocks: list[dict[str, Any]]


def escape(text: str) -> str:
    """Slack's three control characters as entities: ``<!channel>``, ``<@U…>`` or ``<url|label>`` in text we
    post (a user's request, a place, an LLM's words) shows as typed instead of pinging or linking."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_mrkdwn(markdown: str) -> str:
    """CommonMark-ish text to Slack mrkdwn: bold, headings and bullets; nothing in it becomes a mention or link."""
    lines = []
    for raw in escape(markdown).splitlines():
        heading = _HEADING.match(raw)
        line = f"**{heading.group(1).strip()}**" if heading else raw
        if line.startswith("- "):
            line = "• " + line[2:]
        lines.append(_BOLD.sub(r"*\1*", line))
    return "\n".join(lines)


def _chunks(text: str, limit: int) -> list[str]:
    """Split on paragraph, then line boundaries; cut hard only when a single line is too long."""
    out: list[str] = []
    current = ""
    for piece in _pieces(text, limit):
        joined = f"{current}\n{piece}" if current else piece
        if len(joined) <= limit:
            current = joined
            continue
        if current:
            out.append(current)
        current = piece
    if current:
        out.append(current)
    return out


def _pieces(text: str, limit: int) -> list[str]:
    pieces: list[str] = []
    for line in text.split("\n"):
        pieces += [line[i : i + limit] for i in range(0, max(len(line), 1), limit)]
    return pieces


def _paragraphs(mrkdwn: str) -> list[str]:
    paragraphs = [p.strip("\n") for p in mrkdwn.split("\n\n")]
    return [p for p in paragraphs if p.strip()]


def _fallback(text: str) -> str:
    return text if len(text) <= FALLBACK_CHARS else text[: FALLBACK_CHARS - 1] + "…"


def render(markdown: str) -> list[SlackMessage]:
    """The messages that carry ``markdown``, in order (usually one)."""
    sections: list[str] = []
    for paragraph in _paragraphs(to_mrkdwn(markdown)):
        sections += _chunks(paragraph, SECTION_CHARS)
    messages: list[list[str]] = [[]]
    for section in sections:
        current = messages[-1]
        if current and (len(current) >= MAX_BLOCKS or sum(map(len, current)) + len(section) > MESSAGE_CHARS):
            messages.append(current := [])
        current.append(section)
    return [
        SlackMessage(
            text=_fallback("\n\n".join(group)),
            blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": s}} for s in group],
        )
        for group in messages
        if group
    ] or [SlackMessage(text=" ", blocks=[])]


def feedback(action_id: str, task_id: str, words: Wording) -> dict[str, Any]:
    """Thumbs up / down under an answer (a ``context_actions`` block); the value names the task."""
    def button(emoji: str, verdict: str, label: str) -> dict[str, Any]:
        return {"text": {"type": "plain_text", "text": emoji}, "value": f"{verdict}:{task_id}",
                "accessibility_label": label}

    return {"type": "context_actions", "block_id": "feedback", "elements": [{
        "type": "feedback_buttons", "action_id": action_id,
        "positive_button": button("👍", "good", words.feedback_good),
        "negative_button": button("👎", "bad", words.feedback_bad)}]}
