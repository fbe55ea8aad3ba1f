"""Trip planning: an LLM planner when one is configured, the offline rule planner otherwise or as fallback."""

from __future__ import annotations

import asyncio
import logging

from agents.travel.checks import check_plan
from agents.travel.llm_planner import LLMPlanner
from agents.travel.offline_planner import OfflinePlanner
from bot.errors import ConfigError, ExternalServiceError, UnknownPlace, WireError
from bot.schemas import Itinerary, Language, TripRequest, WeatherReport
from bot.wire import TaskMessage, TravelInput

log = logging.getLogger("tourguide.agent.travel")


class TravelService:
    """Plans exactly the requested dates using each day's weather."""

    def __init__(
        self, offline: OfflinePlanner, llm: LLMPlanner | None = None, simulated_latency_s: float = 0.0
    ) -> None:
        self._offline = offline
        self._llm = llm
        self._latency_s = simulated_latency_s

    async def handle(self, task: TaskMessage) -> Itinerary:
        """Step handler for ``TravelAgentTask`` messages."""
        if not isinstance(task.input, TravelInput):
            raise WireError(f"travel agent got a {task.input.kind} step")
        return await self.plan(task.input.request, task.input.weather)

    async def plan(self, request: TripRequest, weather: WeatherReport | None) -> Itinerary:
        """The itinerary; falls back to the offline planner when the LLM fails."""
        if self._latency_s:
            await asyncio.sleep(self._latency_s)  # benchmark knob: stands in for LLM think time
        if self._llm is not None:
            try:
                plan = await self._llm.plan(request, weather)
            except (ExternalServiceError, ConfigError) as exc:
                log.warning("LLM planner failed, using the offline planner: %s", exc)
            else:
                # The LLM is asked to respect the weather; this makes sure it did.
                if not (problems := check_plan(request, weather, plan)):
                    return plan
                log.warning("LLM plan rejected (%s), using the offline planner", "; ".join(problems))
                return self._offline_or(plan, request, weather)
        return self._offline_plan(request, weather)

    def _offline_plan(self, request: TripRequest, weather: WeatherReport | None) -> Itinerary:
        try:
            return self._offline.plan(request, weather)
        except UnknownPlace as exc:
            # The place exists (the weather was found) but the built-in knowledge does not cover it.
            place = request.destination or ""
            raise UnknownPlace(str(exc), user_message=(
                f"我还没有关于“{place}”的内置资料，暂时无法离线规划行程（天气已查到，见下方）。"
                "配置大模型（DASHSCOPE_API_KEY 或 OPENAI_BASE_URL）后可以为任何地方规划。"
                if request.language == Language.ZH else
                f"I have no built-in knowledge of “{place}” yet, so I cannot plan it offline (its weather is "
                "below). With an LLM configured (DASHSCOPE_API_KEY or OPENAI_BASE_URL) I can plan anywhere.")) from exc

    def _offline_or(self, fallback: Itinerary, request: TripRequest, weather: WeatherReport | None) -> Itinerary:
        try:
            return self._offline.plan(request, weather)
        except UnknownPlace:
            return fallback  # no built-in knowledge of the place: the LLM's imperfect plan beats none
