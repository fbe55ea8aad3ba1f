"""A surface's view of a request, folded from progress events that may arrive out of order."""

from __future__ import annotations

from bot.models import ConversationRef, Phase, Progress, SessionStatus, StepState, StepStatus
from bot.progress import ProgressView
from bot.schemas import Language
from bot.wire import StepKind

REF = ConversationRef(platform="slack", channel="C1", thread="1.0", status_message="1.0")


def _event(phase: Phase, weather: StepStatus, travel: StepStatus, kind: StepKind | None = None,
           detail: str = "") -> Progress:
    steps = (StepState(StepKind.WEATHER, weather), StepState(StepKind.TRAVEL, travel))
    return Progress("task-1", phase, kind, detail, ref=REF, language=Language.ZH, request_text="杭州三天",
                    steps=steps)


def test_a_late_event_does_not_move_a_step_back() -> None:
    view = ProgressView()
    view.apply(_event(Phase.OK, StepStatus.OK, StepStatus.SENT, StepKind.WEATHER))
    view.apply(_event(Phase.SENT, StepStatus.SENT, StepStatus.PENDING, StepKind.WEATHER))  # emitted earlier
    assert [s.status for s in view.steps] == [StepStatus.OK, StepStatus.SENT]
    assert (view.ref, view.language, view.request_text) == (REF, Language.ZH, "杭州三天")
    assert not view.finished


def test_slow_and_queued_steps_and_the_end_are_remembered() -> None:
    view = ProgressView()
    view.apply(_event(Phase.QUEUED, StepStatus.SENT, StepStatus.PENDING, StepKind.WEATHER, "3:40"))
    view.apply(_event(Phase.SLOW, StepStatus.SENT, StepStatus.PENDING, StepKind.WEATHER))
    view.apply(_event(Phase.FINISHED, StepStatus.OK, StepStatus.OK, None, "completed"))
    assert view.queued == {"weather": "3:40"} and view.slow == {"weather"}
    assert view.finished and view.status == SessionStatus.COMPLETED
    other = ProgressView()
    other.apply(_event(Phase.FINISHED, StepStatus.FAILED, StepStatus.PENDING, None, "not a status"))
    assert other.status == SessionStatus.FAILED
