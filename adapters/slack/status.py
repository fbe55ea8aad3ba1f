"""The one Slack status message of a request: its text while planning and once the answer is out."""

from __future__ import annotations

from adapters.slack_blocks import escape
from bot.models import Reply, Session, StepStatus
from bot.schemas import Language

_STEP_NAMES = {"weather": ("天气", "Weather"), "travel": ("行程", "Itinerary")}
_STEP_STATES = {
    StepStatus.PENDING: ("⏸ 等待中", "⏸ waiting"),
    StepStatus.SENT: ("⏳ 进行中", "⏳ working"),
    StepStatus.OK: ("✅ 完成", "✅ done"),
    StepStatus.FAILED: ("⚠️ 失败", "⚠️ failed"),
}

_SLOW = ("⏳ 比平时慢，仍在进行（AI 可能在重试）", "⏳ slower than usual, still working (the AI may be retrying)")
_OUTCOMES = {
    "completed": ("✅ 行程已发在下方。", "✅ Your plan is in the thread."),
    "needs_clarification": ("💬 需要补充信息，请看下方回复。", "💬 I need a little more detail — see the thread."),
}
_OUTCOME_FAILED = ("⚠️ 没能完成，请看下方说明。", "⚠️ I could not finish — see the thread.")


def _zh(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _pick(zh: bool, pair: tuple[str, str]) -> str:
    return pair[0] if zh else pair[1]


def planning(user: str, request_text: str, *, show_request: bool) -> str:
    """The first status text, posted before the request is handed to the pipeline."""
    zh = _zh(request_text)
    # the user's own text is escaped: "/trip <!channel>" must not make the bot ping the channel
    head = f"<@{user}> " + _pick(zh, ("的请求：", "asked:")) + f" {escape(request_text)}\n" if show_request else ""
    return head + _pick(zh, ("🧭 正在规划…", "🧭 Planning…"))


def progress(session: Session, user: str, request_text: str, *, show_request: bool,
             slow: frozenset[str] = frozenset()) -> str:
    """The status text while steps go out and come back; ``slow``: step kinds out for unusually long."""
    zh = session.request.language == Language.ZH
    lines = [planning(user, request_text, show_request=show_request)]
    for step in session.steps:
        name = _pick(zh, _STEP_NAMES.get(step.kind.value, (step.kind.value, step.kind.value)))
        state = _SLOW if step.status == StepStatus.SENT and step.kind.value in slow else _STEP_STATES[step.status]
        lines.append(f"• {name}: {_pick(zh, state)}")
    return "\n".join(lines)


def final(reply: Reply, user: str, request_text: str, *, show_request: bool) -> str:
    """The status text once the answer has been posted in the thread."""
    zh = _zh(reply.text)
    head = planning(user, request_text, show_request=show_request).rsplit("\n", 1)[0] + "\n" if show_request else ""
    outcome = _OUTCOMES.get(str(reply.payload.get("status", "")), _OUTCOME_FAILED)
    return head + _pick(zh, outcome)
