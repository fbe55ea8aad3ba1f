"""The shape of a language's wording table (:mod:`bot.wording.en`, :mod:`bot.wording.zh`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.models import Phase, SessionStatus, StepStatus
from bot.wire import StepKind


@dataclass(frozen=True, slots=True)
class Wording:
    """The phrases of one language."""

    step_names: Mapping[StepKind, str]  # a step in a list: "Weather", "Itinerary"
    progress_lines: Mapping[tuple[Phase, StepKind], str]  # one line per progress event (the terminal)
    step_states: Mapping[StepStatus, str]  # a step's state in a status list (Slack)
    slow_state: str  # a step out for unusually long (an LLM being retried), as a state
    slow_note: str  # the same as a note after the step's name (DingTalk card)
    asked: str  # "<user> asked: <request>"
    planning: str  # the status before any step went out
    planning_message: str  # the one "planning…" message of a platform without a status to update
    outcomes: Mapping[SessionStatus, str]  # the status once the answer is out (Slack)
    headings: Mapping[SessionStatus, str]  # the progress card's heading (DingTalk)
    answer_title: str  # the title of an answer message (DingTalk markdown)
    cancelled: str  # the request was given up on (Ctrl-C)
    ask_where: str  # a request without a destination
    ask_when: str  # a request without dates; ``{destination}`` is filled in
    too_many: str  # the per-user rate limit refused a request
    text_only: str  # a message with only attachments
    agent_at_work: Mapping[StepKind, str]  # the loading message while a step is out ("Asking the Weather agent…")
    thinking: str  # an assistant thread's status while the request is read ("is planning your trip…")
    prompts_title: str  # above the suggested prompts of a new assistant thread
    feedback_good: str  # the thumbs-up button's label (screen readers)
    feedback_bad: str  # the thumbs-down button's label

