"""Trip planning: an LLM planner when one is configured, the offline rule planner otherwise or as fallback."""

from __future__ import annotations

import logging

from agents.travel.checks import violations
from agents.travel.llm_planner import LLMPlanner
from agents.travel.offline_planner import OfflinePlanner
from bot.errors import ConfigError, ExternalServiceError, UnknownPlace, WireError
from bot.schemas import Itinerary, Language, TripRequest, WeatherReport
from bot.wire import TaskMessage, TravelInput

log = logging.getLogger("tourguide.agent.travel")


class TravelService:
    """Plans exactly the requested dates using each day's weather."""

    def __init__(self, offline: OfflinePlanner, llm: LLMPlanner | None = None) -> None:
        self._offline = offline
        self._llm = llm

    async def handle(self, task: TaskMessage) -> Itinerary:
        """Step handler for ``TravelAgentTask`` messages."""
        if not isinstance(task.input, TravelInput):
            raise WireError(f"travel agent got a {task.input.kind} step")
        return await self.plan(task.input.request, task.input.weather)

    async def plan(self, request: TripRequest, weather: WeatherReport | None) -> Itinerary:
        """The itinerary; falls back to the offline planner when the LLM fails."""
        if self._llm is not None:
            try:
                plan = await self._llm.plan(request, weather)
            except (ExternalServiceError, ConfigError) as exc:
                log.warning("LLM planner failed, using the offline planner: %s", exc)
            else:
                return await self._checked(self._llm, plan, request, weather)
        return self._offline_plan(request, weather)

    async def _checked(
        self, llm: LLMPlanner, plan: Itinerary, request: TripRequest, weather: WeatherReport | None
    ) -> Itinerary:
        """The LLM's plan if it passes the checks; else sent back once with the violations; else the
        offline plan, with one short line telling the user why."""
        destination = self._offline.destination(request.destination or "")
        problems = violations(request, weather, plan, destination)
        if not problems:
            return plan
        log.warning("LLM plan fails checks, asking for a repair: %s", "; ".join(p.message for p in problems))
        try:
            repaired = await llm.repair(request, weather, plan, [p.message for p in problems])
        except (ExternalServiceError, ConfigError) as exc:
            log.warning("LLM repair failed: %s", exc)
        else:
            if not (problems := violations(request, weather, repaired, destination)):
                return repaired
            log.warning("repaired LLM plan still fails (%s), using the offline planner",
                        "; ".join(p.message for p in problems))
        rules = sorted({p.rule for p in problems})
        return self._offline_or(plan, request, weather).model_copy(update={"notice": _notice(request.language, rules)})

    def _offline_plan(self, request: TripRequest, weather: WeatherReport | None) -> Itinerary:
        try:
            return self._offline.plan(request, weather)
        except UnknownPlace as exc:
            # The place exists (the weather was found) but the built-in knowledge has no sights for it.
            place = request.destination or ""
            where = self._offline.where(place, request.language)
            raise UnknownPlace(str(exc), user_message=(
                f"我知道“{where}”，但离线资料里还没有它的景点清单，所以暂时无法离线规划行程（天气见下方）。"
                "配置大模型（DASHSCOPE_API_KEY 或 OPENAI_BASE_URL）后可以为任何地方规划。"
                if request.language == Language.ZH else
                f"I know “{where}”, but I have no built-in knowledge of its sights, so I cannot plan it offline "
                "(its weather is below). With an LLM configured (DASHSCOPE_API_KEY or OPENAI_BASE_URL) I can plan "
                "anywhere.")) from exc

    def _offline_or(self, fallback: Itinerary, request: TripRequest, weather: WeatherReport | None) -> Itinerary:
        try:
            return self._offline.plan(request, weather)
        except UnknownPlace:
            return fallback  # no built-in knowledge of the place: the LLM's imperfect plan beats none


_RULE_WORDS = {
    "dates": ("日期不对", "wrong dates"), "weather": ("雨天安排了户外", "outdoors in the rain"),
    "indoor_option": ("缺少室内备选", "no indoor plan B"), "around": ("没有周边游", "no day trips"),
    "no_repeat": ("景点重复", "a repeated sight"), "full_days": ("有的天太空", "near-empty days"),
    "opening": ("景点闭馆", "a closed sight"), "meals": ("把小吃当正餐", "a snack as a meal"),
    "pace": ("节奏太赶", "too tight a pace"), "budget": ("超出预算", "over budget"),
}


def _notice(language: Language, rules: list[str]) -> str:
    """One short line: the AI's plan was replaced, and why."""
    zh = language is Language.ZH
    why = ("、" if zh else ", ").join(_RULE_WORDS.get(rule, (rule, rule))[0 if zh else 1] for rule in rules)
    if zh:
        return f"AI 生成的行程没有通过检查（{why}），以下是离线规划的行程。"
    return f"The AI's plan failed my checks ({why}), so this is the offline planner's plan."
