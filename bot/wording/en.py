"""English wording."""

from __future__ import annotations

from bot.models import Phase, SessionStatus, StepStatus
from bot.wire import StepKind
from bot.wording.base import Wording

WORDING = Wording(
    step_names={StepKind.WEATHER: "Weather", StepKind.TRAVEL: "Itinerary"},
    progress_lines={
        (Phase.SENT, StepKind.WEATHER): "→ asked the Weather agent for the forecast…",
        (Phase.OK, StepKind.WEATHER): "✓ weather is in",
        (Phase.SENT, StepKind.TRAVEL): "→ asked the Travel agent for a plan…",
        (Phase.OK, StepKind.TRAVEL): "✓ the itinerary is ready",
        (Phase.FAILED, StepKind.WEATHER): "✗ the weather lookup failed",
        (Phase.FAILED, StepKind.TRAVEL): "✗ trip planning failed",
        (Phase.SLOW, StepKind.WEATHER): "… the weather lookup is slow, still trying",
        (Phase.SLOW, StepKind.TRAVEL): "… the AI planner is slow (it may be retrying), still working",
    },
    step_states={
        StepStatus.PENDING: "⏸ waiting",
        StepStatus.SENT: "⏳ working",
        StepStatus.OK: "✅ done",
        StepStatus.FAILED: "⚠️ failed",
    },
    slow_state="⏳ slower than usual, still working (the AI may be retrying)",
    slow_note=" (slower than usual: the AI may be retrying)",
    asked="asked:",
    planning="🧭 Planning…",
    planning_message="🧭 Planning your trip, one moment…",
    outcomes={
        SessionStatus.COMPLETED: "✅ Your plan is in the thread.",
        SessionStatus.NEEDS_CLARIFICATION: "💬 I need a little more detail — see the thread.",
        SessionStatus.FAILED: "⚠️ I could not finish — see the thread.",
    },
    headings={
        SessionStatus.RUNNING: "🧭 Planning your trip…",
        SessionStatus.COMPLETED: "✅ Done: your plan is below",
        SessionStatus.NEEDS_CLARIFICATION: "💬 I need a little more detail: see below",
        SessionStatus.FAILED: "⚠️ I could not finish: see below",
    },
    answer_title="Tour guide",
    cancelled="tourguide: cancelled.",
    ask_where=("Where would you like to go? Tell me a destination and dates, e.g. “3 days in Kyoto next weekend” "
               "or “weather in Shanghai tomorrow”."),
    ask_when="When would you like to visit {destination}? E.g. “next weekend” or “Dec 5 to Dec 7”.",
    too_many="You are sending requests faster than I can plan them. Please wait a minute and try again.",
    text_only="I can only read text for now. Please type your destination and dates.",
    agent_at_work={StepKind.WEATHER: "Asking the Weather agent…", StepKind.TRAVEL: "Asking the Travel agent…"},
    thinking="is planning your trip…",
    prompts_title="Where to? Try one of these:",
    feedback_good="This plan is helpful",
    feedback_bad="This plan is not helpful",
)
