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
        return [weather, *_more_weather(request)]
    travel = StepRecord("travel", StepKind.TRAVEL, ("weather",), StepStatus.PENDING, TravelInput(request=request), 0.0)
    return [weather, travel]


def step_input(session: SessionRecord, step: StepRecord) -> Any:
    """The input to publish: a travel step gets the weather its dependency produced (if any)."""
    if not isinstance(step.input, TravelInput):
        return step.input
    main = session.step("weather")
    weather = main.output if main is not None and main.status == StepStatus.OK else None
    return TravelInput(request=step.input.request, weather=weather)


def _more_weather(request: TripRequest) -> list[StepRecord]:
    """One independent weather step per extra place: they run in parallel with the first."""
    steps = []
    for i, place in enumerate(request.also, 2):
        other = request.model_copy(update={"destination": place, "also": ()})
        steps.append(StepRecord(f"weather-{i}", StepKind.WEATHER, (), StepStatus.PENDING, WeatherInput(request=other),
                                0.0))
    return steps
