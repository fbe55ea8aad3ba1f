"""The final answer of a session: status, Markdown text, and the structured payload (``ask --json``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agents.supervisor.planner import step_ids
from agents.supervisor.render import inert, itinerary_markdown, multi_city_markdown, weather_markdown
from bot.models import Session, SessionStatus, Step, StepStatus
from bot.schemas import Intent, Itinerary, Language, TripRequest, WeatherDay, WeatherReport
from bot.wire import ErrorKind, StepKind


@dataclass(frozen=True, slots=True)
class Answer:
    """What the user gets for a request."""

    status: SessionStatus
    text: str
    payload: dict[str, Any]


def _say(lang: Language, zh: str, en: str) -> str:
    return zh if lang == Language.ZH else en


def _output(session: Session, kind: StepKind) -> Any:
    step = session.step(kind.value)  # the main step of each kind has the kind's name as its ID
    return step.output if step is not None and step.status == StepStatus.OK else None


def _failed(session: Session, kind: StepKind) -> Step | None:
    step = session.step(kind.value)
    return step if step is not None and step.status == StepStatus.FAILED else None


def compose(session: Session) -> Answer:
    """The answer for a session whose steps are all final."""
    request, lang = session.request, session.request.language
    if request.legs and request.intent == Intent.ITINERARY:
        return _multi_city(session)
    weather: WeatherReport | None = _output(session, StepKind.WEATHER)
    plan: Itinerary | None = _output(session, StepKind.TRAVEL)
    weather_failure = _failed(session, StepKind.WEATHER)
    if weather_failure is not None and weather_failure.error_kind == ErrorKind.INPUT:
        return clarification(session.task_id, request, weather_failure.user_message or unknown_place(request))
    if request.intent == Intent.WEATHER:
        return _weather_answer(session, weather, weather_failure)
    if plan is None:
        travel_failure = _failed(session, StepKind.TRAVEL)
        failure_text = part_failed(lang, "travel", travel_failure)
        if travel_failure is not None and travel_failure.error_kind == ErrorKind.INPUT:
            text = travel_failure.user_message or failure_text
            if weather is not None:
                text += "\n\n" + weather_markdown(request, weather)
            return clarification(session.task_id, request, text, weather)
        return failure(session.task_id, request, failure_text, weather)
    text = itinerary_markdown(request, plan, weather)
    return Answer(SessionStatus.COMPLETED, text,
                  payload(session.task_id, SessionStatus.COMPLETED, request, weather, plan, text))


def _multi_city(session: Session) -> Answer:
    """One itinerary over every city in order, with each city's weather; a failed city is never dropped."""
    request, lang = session.request, session.request.language
    reports: list[WeatherReport | None] = []
    plans: list[Itinerary] = []
    for index, leg in enumerate(request.legs):
        weather_id, travel_id = step_ids(index)
        weather_step, travel_step = session.step(weather_id), session.step(travel_id)
        weather = weather_step.weather if weather_step is not None else None
        reports.append(weather)
        for step in (weather_step, travel_step):
            if step is not None and step.status == StepStatus.FAILED and step.error_kind == ErrorKind.INPUT:
                return clarification(session.task_id, request, step.user_message or unknown_place(
                    request.model_copy(update={"destination": leg.destination})))
        if travel_step is None or travel_step.itinerary is None:
            place = inert(leg.destination)
            text = _say(lang, f"（{place}这一段）", f"(The {place} part.) ") + part_failed(lang, "travel", travel_step)
            return failure(session.task_id, request, text, weather)
        plans.append(travel_step.itinerary)
    separator = " → "
    plan = Itinerary(
        destination=separator.join(p.destination for p in plans),
        days=tuple(day for p in plans for day in p.days),
        summary=_joined_summaries([p.summary for p in plans], lang),
        tips=tuple(dict.fromkeys(tip for p in plans for tip in p.tips))[:6],
        notice=next((p.notice for p in plans if p.notice), ""),
    )
    known = [r for r in reports if r is not None]
    text = multi_city_markdown(request, plan, reports)
    days = [d for r in known for d in r.days]
    return Answer(SessionStatus.COMPLETED, text,
                  payload(session.task_id, SessionStatus.COMPLETED, request, None, plan, text, days))


def _joined_summaries(summaries: list[str], lang: Language) -> str:
    """Every leg's summary, each sentence once (the spend and the weather caveat repeat in every leg)."""
    zh = lang == Language.ZH
    seen: list[str] = []
    for summary in summaries:
        for part in summary.split("。" if zh else ". "):
            sentence = part.strip().rstrip("。" if zh else ".")
            if sentence and sentence not in seen:
                seen.append(sentence)
    if not seen:
        return ""
    return "。".join(seen) + "。" if zh else ". ".join(seen) + "."


def _weather_answer(session: Session, weather: WeatherReport | None, failed: Step | None) -> Answer:
    """A weather question, possibly about several places (one parallel step each)."""
    request, lang = session.request, session.request.language
    if weather is None:
        return failure(session.task_id, request, part_failed(lang, "weather", failed))
    sections = [weather_markdown(request, weather)]
    for step in session.steps[1:]:
        if step.weather is not None:
            sections.append(weather_markdown(step.input.request, step.weather))
        elif step.kind == StepKind.WEATHER:
            place = inert(step.input.request.destination or "")
            sections.append(_say(lang, f"（{place}的天气没有查到）", f"(No weather for {place}.)"))
    text = "\n\n".join(sections)
    return Answer(SessionStatus.COMPLETED, text, payload(session.task_id, SessionStatus.COMPLETED, request, weather,
                                                        None, text))


def clarification(task_id: str, request: TripRequest, text: str, weather: WeatherReport | None = None) -> Answer:
    """Ask the user for what is missing (with the weather, when that part worked)."""
    return Answer(SessionStatus.NEEDS_CLARIFICATION, text,
                  payload(task_id, SessionStatus.NEEDS_CLARIFICATION, request, weather, None, text))


def failure(task_id: str, request: TripRequest, text: str, weather: WeatherReport | None = None) -> Answer:
    """Say honestly what failed, with whatever partial result there is."""
    if weather is not None:
        text += "\n\n" + weather_markdown(request, weather)
    return Answer(SessionStatus.FAILED, text, payload(task_id, SessionStatus.FAILED, request, weather, None, text))


def unknown_place(request: TripRequest) -> str:
    """The honest answer for a place nobody could locate."""
    place = inert(request.destination or "")  # the user's own words, echoed: never markup
    return _say(request.language,
                f"抱歉，我没有找到“{place}”这个地方。能告诉我具体的城市名（以及所在省份或国家）吗？",
                f"Sorry, I could not find “{place}”. Could you give me the city name (and country)?")


def part_failed(lang: Language, part: str, step: Step | None) -> str:
    """Which part of the work failed, in plain words."""
    why = step.error_kind if step is not None else None
    reason_zh = {ErrorKind.TIMEOUT: "等待超时", ErrorKind.EXPIRED: "任务已过期",
                 ErrorKind.SERVICE: "外部服务暂时不可用"}.get(why or ErrorKind.EXHAUSTED, "多次重试后仍然失败")
    reason_en = {ErrorKind.TIMEOUT: "it did not answer in time", ErrorKind.EXPIRED: "the task expired",
                 ErrorKind.SERVICE: "an external service is unavailable"}.get(
        why or ErrorKind.EXHAUSTED, "it failed after several retries")
    if part == "weather":
        return _say(lang, f"抱歉，天气查询没有完成（{reason_zh}）。请稍后再试。",
                    f"Sorry, the weather lookup did not complete ({reason_en}). Please try again later.")
    return _say(lang, f"抱歉，行程规划没有完成（{reason_zh}）。天气信息已经查到，请稍后再试一次。",
                f"Sorry, the trip planning did not complete ({reason_en}). Please try again later.")


def payload(task_id: str, status: SessionStatus, request: TripRequest, weather: WeatherReport | None,
            plan: Itinerary | None, message: str, weather_days: list[WeatherDay] | None = None) -> dict[str, Any]:
    """The structured answer printed by ``tourguide ask --json`` (a multi-city trip passes every city's days)."""
    days = weather_days if weather_days is not None else list(weather.days) if weather else []
    return {
        "task_id": task_id,
        "status": status.value,
        "intent": request.intent.value,
        "request": {
            "destination": request.destination,
            "start_date": request.start_date.isoformat() if request.start_date else None,
            "end_date": request.end_date.isoformat() if request.end_date else None,
            "travelers": request.travelers,
            "mode": request.mode.value,
            "language": request.language.value,
            "origin": request.origin,
            "children": request.children,
            "seniors": request.seniors,
            "legs": [leg.model_dump(mode="json") for leg in request.legs],
            "notes": list(request.notes),
        },
        "weather": [d.model_dump(mode="json") for d in days],
        "itinerary": [
            {"date": d.date.isoformat(), "title": d.title, "city": d.city, "kind": d.kind,
             "activities": [a.model_dump(mode="json") for a in d.activities]}
            for d in plan.days
        ] if plan else [],
        "message": message,
    }
