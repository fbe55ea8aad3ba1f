"""Which steps a request needs, and what each step's task message carries.

Weather goes first; the travel step waits for it and receives the weather facts. A pure weather
question only has the weather step. Steps with no dependency between them run in parallel.

A multi-city trip ("北京5天然后上海3天") has one weather step per city (all in parallel) and one travel
step per leg, each waiting only for its own city's weather; the first leg keeps the plain step IDs
("weather", "travel"), later legs are "weather-2" / "travel-2" and so on, in travel order.
"""

from __future__ import annotations

from typing import Any

from bot.models import Session, Step, StepStatus
from bot.schemas import Intent, TripRequest
from bot.wire import StepKind, TravelInput, WeatherInput


def plan_steps(request: TripRequest) -> list[Step]:
    """The steps of a new session, all pending."""
    if request.legs and request.intent == Intent.ITINERARY:
        return _multi_city(request)
    weather = Step("weather", StepKind.WEATHER, (), StepStatus.PENDING, WeatherInput(request=request), 0.0)
    if request.intent == Intent.WEATHER:
        return [weather, *_more_weather(request)]
    travel = Step("travel", StepKind.TRAVEL, ("weather",), StepStatus.PENDING, TravelInput(request=request), 0.0)
    return [weather, travel]


def step_input(session: Session, step: Step) -> Any:
    """The input to publish: a travel step gets the weather its dependency produced (if any)."""
    if not isinstance(step.input, TravelInput):
        return step.input
    source = step.depends_on[0] if step.depends_on else "weather"
    main = session.step(source)
    weather = main.weather if main is not None else None
    return TravelInput(request=step.input.request, weather=weather)


def _more_weather(request: TripRequest) -> list[Step]:
    """One independent weather step per extra place: they run in parallel with the first."""
    steps = []
    for i, place in enumerate(request.also, 2):
        other = request.model_copy(update={"destination": place, "also": ()})
        steps.append(Step(f"weather-{i}", StepKind.WEATHER, (), StepStatus.PENDING, WeatherInput(request=other),
                                0.0))
    return steps


def leg_request(request: TripRequest, index: int) -> TripRequest:
    """The request of one city of a multi-city trip: its own dates, arriving from the previous city."""
    leg = request.legs[index]
    return request.model_copy(update={
        "destination": leg.destination, "start_date": leg.start_date, "end_date": leg.end_date, "legs": (),
        "arrive_from": request.legs[index - 1].destination if index else request.arrive_from,
        "depart_to": request.legs[index + 1].destination if index + 1 < len(request.legs) else None,
        "origin": request.origin if index == 0 else None, "around": False, "notes": (),
    })


def step_ids(index: int) -> tuple[str, str]:
    """(weather step, travel step) IDs of leg ``index``."""
    suffix = "" if index == 0 else f"-{index + 1}"
    return f"weather{suffix}", f"travel{suffix}"


def _multi_city(request: TripRequest) -> list[Step]:
    weather_steps, travel_steps = [], []
    for index in range(len(request.legs)):
        leg = leg_request(request, index)
        weather_id, travel_id = step_ids(index)
        weather_steps.append(Step(weather_id, StepKind.WEATHER, (), StepStatus.PENDING,
                                        WeatherInput(request=leg), 0.0))
        travel_steps.append(Step(travel_id, StepKind.TRAVEL, (weather_id,), StepStatus.PENDING,
                                       TravelInput(request=leg), 0.0))
    return [*weather_steps, *travel_steps]
