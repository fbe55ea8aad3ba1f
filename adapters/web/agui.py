"""Our progress and answers as AG-UI events (the protocol the page speaks).

One run per task (``run_id`` = task ID, ``thread_id`` = the browser's conversation): RUN_STARTED, a
STEP_STARTED / STEP_FINISHED pair per agent step, the answer as TEXT_MESSAGE_START / CONTENT / END,
then RUN_FINISHED (or RUN_ERROR when the request failed). What AG-UI has no event for travels as
CUSTOM events: the user's own message (so a reloaded page can show it), a slow step, a failed step,
and the structured answer that the day cards are drawn from.
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

from bot.models import Phase, Progress, Reply
from bot.wording.queue import queued_line

CHUNK = 400  # characters per TEXT_MESSAGE_CONTENT: the answer streams in a few deltas, as a model's would
FAILED_STATUSES = ("failed",)


def user_message(event_id: str, text: str) -> BaseEvent:
    """What the person typed, echoed into the log so every tab and every reload shows it."""
    return CustomEvent(name="user_message", value={"event_id": event_id, "text": text})


def run_started(thread_id: str, task_id: str) -> BaseEvent:
    """The request has a task."""
    return RunStartedEvent(thread_id=thread_id, run_id=task_id)


def progress(event: Progress) -> list[BaseEvent]:
    """One Supervisor progress event as AG-UI events (none for FINISHED: the answer ends the run)."""
    name = event.kind.value if event.kind is not None else ""
    steps = [{"kind": s.kind.value, "status": s.status.value} for s in event.steps]
    if event.phase == Phase.SENT:
        return [StepStartedEvent(step_name=name, raw_event={"task_id": event.task_id, "steps": steps})]
    if event.phase == Phase.SLOW:
        return [CustomEvent(name="step_slow", value={"task_id": event.task_id, "step": name})]
    if event.phase == Phase.QUEUED:
        return [CustomEvent(name="step_queued", value={"task_id": event.task_id, "step": name,
                                                        "text": queued_line(event.language, event.detail)})]
    if event.phase == Phase.OK:
        return [StepFinishedEvent(step_name=name, raw_event={"task_id": event.task_id, "status": "ok"})]
    if event.phase == Phase.FAILED:
        return [CustomEvent(name="step_failed", value={"task_id": event.task_id, "step": name,
                                                        "detail": event.detail[:200]}),
                StepFinishedEvent(step_name=name, raw_event={"task_id": event.task_id, "status": "failed"})]
    return []


def answer(reply: Reply) -> list[BaseEvent]:
    """The answer: its text streamed as one assistant message, the payload for the cards, the run's end."""
    message_id = reply.task_id
    events: list[BaseEvent] = [TextMessageStartEvent(message_id=message_id, role="assistant")]
    events += [TextMessageContentEvent(message_id=message_id, delta=reply.text[i:i + CHUNK])
               for i in range(0, len(reply.text), CHUNK)]
    events.append(TextMessageEndEvent(message_id=message_id))
    events.append(CustomEvent(name="answer", value=_card_data(reply.payload)))
    status = str(reply.payload.get("status", ""))
    if status in FAILED_STATUSES:
        events.append(RunErrorEvent(message=reply.text[:500], code=status, raw_event={"task_id": reply.task_id}))
    else:
        events.append(RunFinishedEvent(thread_id=reply.ref.thread or reply.ref.channel, run_id=reply.task_id,
                                       result={"status": status}))
    return events


def _card_data(payload: dict[str, Any]) -> dict[str, Any]:
    """What the page draws: the request, the weather days and the itinerary (the Markdown is sent as text)."""
    return {key: payload.get(key) for key in ("task_id", "status", "intent", "request", "weather", "itinerary")}
