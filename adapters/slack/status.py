"""The one Slack status message of a request: its text while planning and once the answer is out.

Wording comes from :mod:`bot.wording`; this module only lays it out as mrkdwn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from adapters.slack.blocks import escape
from bot.models import Reply, SessionStatus, StepState, StepStatus
from bot.progress import draft_tail
from bot.schemas import Language
from bot.wording import reply_language, wording
from bot.wording.queue import queued_line

DRAFT_CHARS = 2000  # of a streamed draft shown in the status message: its newest part


def planning(user: str, request_text: str, language: Language, *, show_request: bool) -> str:
    """The first status text, posted before the request is handed to the core."""
    words = wording(language)
    # the user's own text is escaped: "/trip <!channel>" must not make the bot ping the channel
    head = f"<@{user}> {words.asked} {escape(request_text)}\n" if show_request else ""
    return head + words.planning


def progress(steps: Sequence[StepState], language: Language, user: str, request_text: str, *, show_request: bool,
             slow: frozenset[str] = frozenset(), queued: Mapping[str, str] | None = None, draft: str = "") -> str:
    """The status text while steps go out and come back; ``slow``: step kinds out for unusually long;
    ``queued``: step kinds waiting behind others, with their ``Phase.QUEUED`` detail; ``draft``: the plan
    as the model streams it (quoted; the final status line replaces it)."""
    words = wording(language)
    lines = [planning(user, request_text, language, show_request=show_request)]
    for step in steps:
        name = words.step_names.get(step.kind, step.kind.value)
        slowed = step.status == StepStatus.SENT and step.kind.value in slow
        waiting = queued_line(language, (queued or {}).get(step.kind.value, "")).removeprefix("… ") \
            if step.status == StepStatus.SENT else ""
        lines.append(f"• {name}: {waiting or (words.slow_state if slowed else words.step_states[step.status])}")
    if draft:
        lines += [f"> {escape(line)}" for line in draft_tail(draft, DRAFT_CHARS).split("\n")]
    return "\n".join(lines)


def final(reply: Reply, user: str, request_text: str, *, show_request: bool) -> str:
    """The status text once the answer has been posted in the thread."""
    language = reply_language(reply.payload)
    words = wording(language)
    head = planning(user, request_text, language, show_request=show_request).rsplit("\n", 1)[0] + "\n" \
        if show_request else ""
    status = str(reply.payload.get("status", ""))
    outcome = SessionStatus(status) if status in (SessionStatus.COMPLETED, SessionStatus.NEEDS_CLARIFICATION) \
        else SessionStatus.FAILED
    return head + words.outcomes[outcome]
