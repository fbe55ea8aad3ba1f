"""Our progress and answers as AG-UI events (the protocol the page speaks).

One run per task (``run_id`` = task ID, ``thread_id`` = the browser's conversation): RUN_STARTED, a
STEP_STARTED / STEP_FINISHED pair per agent step, the answer as TEXT_MESSAGE_START / CONTENT / END,
then RUN_FINISHED (or RUN_ERROR when the request failed). What AG-UI has no event for travels as
CUSTOM events: the user's own message (so a reloaded page can show it), a message the core did not take,
a slow step, a failed step, and the structured answer that the day cards are drawn from. The words the
page shows for a run travel with it in the request's language (``labels``, from :mod:`bot.wording.cards`).
"""

from __future__ import annotations

from typing import Any

from ag_ui.core import (
    BaseEvent,
    CustomEvent,
    RunErrorEvent,
    RunFinishedEvent,
    RunStartedEvent,
    StepFinishedEvent,
    StepStartedEvent,
    TextMessageContentEvent,
    TextMessageEndEvent,
    TextMessageStartEvent,
)

from bot.models import Phase, Progress, Reply, StepStatus
from bot.schemas import Language
from bot.wording import language_of, reply_language, wording
from bot.wording.cards import card_labels, card_words
from bot.wording.delivery import delivery_state
from bot.wording.queue import queued_line

CHUNK = 400  # characters per TEXT_MESSAGE_CONTENT: the answer streams in a few deltas, as a model's would
DRAFT_CHARS = 4000  # of a streamed draft sent to the page (its newest part)
FAILED_STATUSES = ("failed",)


def user_message(event_id: str, text: str) -> BaseEvent:
    """What the person typed, echoed into the log so every tab and every reload shows it, with what the page
    says until the request has a task ("正在理解你的请求…", in the language the text looks written in)."""
    return CustomEvent(name="user_message", value={"event_id": event_id, "text": text,
                                                   "reading": card_words(language_of(text)).reading})


def not_taken(event_id: str) -> BaseEvent:
    """The message echoed as ``event_id`` did not become a request (the core refused or failed to take it)."""
    return CustomEvent(name="not_taken", value={"event_id": event_id})


def run_started(thread_id: str, task_id: str, language: Language) -> BaseEvent:
    """The request has a task; the run's words (step times, card and chart words) in the request's language."""
    return RunStartedEvent(thread_id=thread_id, run_id=task_id, raw_event={"labels": card_labels(language)})


def progress(event: Progress) -> list[BaseEvent]:
    """One Supervisor progress event as AG-UI events (none for FINISHED: the answer ends the run).

    The step's name and state in the request's language ride along (``bot.wording``): the page shows them.
    """
    if event.kind is None:
        return []
    words = wording(event.language)
    name = event.kind.value
    shown = {"task_id": event.task_id, "label": words.step_names.get(event.kind, name)}
    if event.phase == Phase.SENT:
        return [StepStartedEvent(step_name=name, raw_event={**shown, "state": words.step_states[StepStatus.SENT]})]
    if event.phase == Phase.SLOW:
        return [CustomEvent(name="step_slow", value={**shown, "step": name, "state": words.slow_state})]
    if event.phase == Phase.QUEUED:  # waits in the broker behind others: its place in line
        return [CustomEvent(name="step_queued", value={**shown, "step": name,
                                                        "text": queued_line(event.language, event.detail)})]
    if event.phase == Phase.PARTIAL:  # the plan as the model writes it; the answer replaces it
        return [CustomEvent(name="step_draft", value={**shown, "step": name, "text": event.detail[-DRAFT_CHARS:]})]
    if event.phase == Phase.OK:
        return [StepFinishedEvent(step_name=name, raw_event={**shown, "status": "ok",
                                                             "state": words.step_states[StepStatus.OK]})]
    if event.phase == Phase.FAILED:
        failed = words.step_states[StepStatus.FAILED]
        return [CustomEvent(name="step_failed", value={**shown, "step": name, "state": failed,
                                                        "detail": event.detail[:200]}),
                StepFinishedEvent(step_name=name, raw_event={**shown, "status": "failed", "state": failed})]
    return []


def delivery(task_id: str, step: str, attempt: int, failed: bool, language: Language) -> BaseEvent:
    """An agent picked a step up (attempt N), or its attempt failed and the broker will deliver it again."""
    return CustomEvent(name="step_delivery", value={"task_id": task_id, "step": step, "attempt": attempt,
                                                    "failed": failed,
                                                    "state": delivery_state(language, attempt, failed)})


def answer(reply: Reply) -> list[BaseEvent]:
    """The answer: its text streamed as one assistant message, the payload for the cards, the run's end."""
    message_id = reply.task_id
    events: list[BaseEvent] = [TextMessageStartEvent(message_id=message_id, role="assistant")]
    events += [TextMessageContentEvent(message_id=message_id, delta=reply.text[i:i + CHUNK])
               for i in range(0, len(reply.text), CHUNK)]
    events.append(TextMessageEndEvent(message_id=message_id))
    events.append(CustomEvent(name="answer", value=_card_data(reply.payload)))
    status = str(reply.payload.get("status", ""))
    outcome = _outcome(reply.payload, status)
    if status in FAILED_STATUSES:
        events.append(RunErrorEvent(message=reply.text[:500], code=status,
                                    raw_event={"task_id": reply.task_id, "outcome": outcome}))
    else:
        events.append(RunFinishedEvent(thread_id=reply.ref.thread or reply.ref.channel, run_id=reply.task_id,
                                       result={"status": status, "outcome": outcome}))
    return events


def _outcome(payload: dict[str, Any], status: str) -> str:
    """What became of the request, in its language ("✅ 行程已发在下方。")."""
    outcomes = wording(reply_language(payload)).outcomes
    return next((text for state, text in outcomes.items() if state.value == status), status)


def _card_data(payload: dict[str, Any]) -> dict[str, Any]:
    """What the page draws: the request, the weather days and the itinerary (the Markdown is sent as text), and
    the words to draw them with in the request's language."""
    data = {key: payload.get(key) for key in ("task_id", "status", "intent", "request", "weather", "itinerary")}
    return {**data, "labels": card_labels(reply_language(payload))}
