"""Which steps a request needs, and what each step's task message carries.

Weather goes first; the travel step waits for it and receives the weather facts. A pure weather
question only has the weather step. Steps with no dependency between them run in parallel.
"""

from __future__ import annotations

from typing import Any

from bot.schemas import Intent, TripRequest
from bot.wire import StepKind, TravelInput, WeatherInput
from storage.sessions import SessionRecord, StepRecord, StepStatus


def plan_steps(request: TripRequest) -> list[StepRecord]:
    """The steps of a new session, all pending."""
    weather = StepRecord("weather", StepKind.WEATHER, (), StepStatus.PENDING, WeatherInput(request=request), 0.0)
    if request.intent == Intent.WEATHER:
        return [weather]
    travel = StepRecord("travel", StepKind.TRAVEL, ("weather",), StepStatus.PENDING, TravelInput(request=request), 0.0)
    return [weather, travel]


def step_input(session: SessionRecord, step: StepRecord) -> Any:
    """The input to publish: a travel step gets the weather its dependency produced (if any)."""
    if not isinstance(step.input, TravelInput):
        return step.input
    weather = next(
        (s.output for s in session.steps if s.kind == StepKind.WEATHER and s.status == StepStatus.OK), None
    )
    return TravelInput(request=step.input.request, weather=weather)
