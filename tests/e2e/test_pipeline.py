"""The pipeline in one process (embedded broker, inline agents): follow-ups, a dead agent, an LLM planner."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from adapters.terminal.chat import chat_loop
from bot.runtime import AgentMode
from bot.settings import load_settings
from bot.wiring import Pipeline, pipeline
from bot.wiring import terminal as open_terminal
from tests.standins.fake_dashscope import FakeDashScope, app_answer
from tests.standins.fake_dashscope import completion as ds_completion
from tests.standins.fake_open_meteo import FakeOpenMeteo
from tests.standins.fake_openai import FakeOpenAI, completion, trip_reading
from tests.terminal import ask

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@asynccontextmanager
async def running(tmp_path: Path, agents: AgentMode = "inline", **overrides: Any) -> AsyncIterator[Pipeline]:
    settings = load_settings(data_dir=tmp_path, rocketmq_endpoint="", **overrides)
    async with pipeline(settings, agents=agents, clock=lambda: NOW) as p:
        yield p


def _dates(reply_payload: dict[str, Any]) -> list[str]:
    return [d["date"] for d in reply_payload["itinerary"]]


async def test_follow_up_in_the_same_conversation_amends_the_plan(tmp_path: Path) -> None:
    async with running(tmp_path) as p, open_terminal(p, io.StringIO(), answer_timeout_s=60) as terminal:
        first = await terminal.ask("帮我做一个下周三到下周日杭州周边自驾游方案")
        assert _dates(first.payload) == [f"2026-12-0{d}" for d in range(2, 7)]
        amended = await terminal.ask("改成3天")
        assert amended.payload["status"] == "completed"
        assert _dates(amended.payload) == ["2026-12-02", "2026-12-03", "2026-12-04"]
        assert amended.payload["request"]["destination"] == "Hangzhou"
        cheaper = await terminal.ask("make it cheaper")
        assert cheaper.payload["status"] == "completed" and len(_dates(cheaper.payload)) == 3


async def test_a_dead_agent_gets_an_honest_answer_not_silence(tmp_path: Path) -> None:
    async with running(tmp_path, agents="none", step_timeout_s=2.0) as p:
        progress = io.StringIO()
        reply = await ask(p, progress_out=progress, answer_timeout_s=30, text="3 days in Kyoto next weekend")
    assert reply.payload["status"] == "failed"
    assert "did not complete" in reply.text and "in time" in reply.text
    assert "Traceback" not in reply.text
    assert "weather lookup failed" in progress.getvalue()


KYOTO_SIGHTS = ["Fushimi Inari", "Kiyomizu-dera", "Kinkaku-ji", "Arashiyama", "Gion", "Nishiki Market",
                "Kyoto National Museum", "Tea ceremony"]


def _llm_itinerary(dates: list[str], *, repeat: bool = False) -> str:
    """An LLM plan with two different sights a day and a plan B; ``repeat`` serves Fushimi Inari every day."""
    def sights(i: int) -> list[str]:
        return ["Fushimi Inari", KYOTO_SIGHTS[2 * i + 1]] if repeat else KYOTO_SIGHTS[2 * i : 2 * i + 2]

    return json.dumps({
        "destination": "Kyoto",
        "summary": "LLM-made plan",
        "tips": ["Buy an ICOCA card"],
        "days": [
            {"date": d, "title": f"Kyoto day {i + 1}", "notes": "Plan B if it rains: the Kyoto Railway Museum.",
             "activities": [{"time": f"{9 + 3 * j:02d}:00", "name": name, "description": "", "indoor": False,
                             "duration_hours": 2} for j, name in enumerate(sights(i))]}
            for i, d in enumerate(dates)
        ],
    })


async def test_an_openai_compatible_llm_plans_when_configured(tmp_path: Path) -> None:
    dates = ["2026-12-05", "2026-12-06", "2026-12-07"]
    async with FakeOpenAI(api_key="sk-test") as fake:
        # The intake reads the request first (structured extraction), then the travel agent plans.
        fake.script(completion(trip_reading(destinations=[{"name": "Kyoto", "days": 3}], date_words="next weekend")),
                    completion(_llm_itinerary(dates)))
        async with running(tmp_path, openai_base_url=fake.base_url, openai_api_key="sk-test",
                           openai_model="deepseek-chat") as p:
            reply = await ask(p, progress_out=io.StringIO(), answer_timeout_s=60, text="3 days in Kyoto next weekend")
        requests: list[Any] = list(fake.requests)
    assert reply.payload["status"] == "completed"
    assert _dates(reply.payload) == dates
    assert reply.payload["itinerary"][0]["title"] == "Kyoto day 1"
    assert len(requests) == 2
    assert requests[0].json["response_format"]["json_schema"]["name"] == "trip_request"
    body = requests[1].json
    assert body["model"] == "deepseek-chat"
    prompt = " ".join(m["content"] for m in body["messages"])
    assert "2026-12-05" in prompt and "Kyoto" in prompt  # the weather facts went into the prompt


async def test_the_llm_failing_falls_back_to_the_offline_planner(tmp_path: Path) -> None:
    async with FakeOpenAI(api_key="sk-test") as fake:
        fake.script(completion("this is not JSON"), completion("this is not JSON either"))  # reading, then plan
        async with running(tmp_path, openai_base_url=fake.base_url, openai_api_key="sk-test") as p:
            reply = await ask(p, progress_out=io.StringIO(), answer_timeout_s=60, text="3 days in Kyoto next weekend")
    assert reply.payload["status"] == "completed"
    assert len(_dates(reply.payload)) == 3




async def test_dashscope_qwen_and_a_bailian_app_per_agent(tmp_path: Path) -> None:
    dates = ["2026-12-05", "2026-12-06", "2026-12-07"]
    async with FakeDashScope(api_key="sk-ds", app_ids=("app-travel-1",)) as fake:
        reading = ds_completion(trip_reading(destinations=[{"name": "Kyoto", "days": 3}]))
        fake.script(reading, ds_completion(_llm_itinerary(dates)))
        async with running(tmp_path / "qwen", dashscope_api_key="sk-ds", dashscope_base_url=fake.base_url) as p:
            qwen = await ask(p, progress_out=io.StringIO(), answer_timeout_s=60, text="3 days in Kyoto next weekend")
        fake.script(reading, app_answer(_llm_itinerary(dates)))
        async with running(tmp_path / "app", dashscope_api_key="sk-ds", dashscope_base_url=fake.base_url,
                           bailian_travel_app_id="app-travel-1") as p:
            app = await ask(p, progress_out=io.StringIO(), answer_timeout_s=60, text="3 days in Kyoto next weekend")
        paths = [r.path for r in fake.requests]
    assert qwen.payload["itinerary"][0]["title"] == app.payload["itinerary"][0]["title"] == "Kyoto day 1"
    generation = "/api/v1/services/aigc/text-generation/generation"  # Qwen reads each request first
    assert paths == [generation, generation, generation, "/api/v1/apps/app-travel-1/completion"]


async def test_two_cities_weather_goes_out_in_parallel(tmp_path: Path) -> None:
    async with running(tmp_path) as p:
        reply = await ask(p, progress_out=io.StringIO(), answer_timeout_s=60, text="明天杭州和苏州的天气怎么样")
        hops = [(hop, detail) for _at, hop, detail in await p.sessions.traces(reply.task_id)]
    assert reply.payload["status"] == "completed" and reply.payload["intent"] == "weather"
    assert "杭州" in reply.text and "苏州" in reply.text
    published = [i for i, (_hop, detail) in enumerate(hops) if detail == "task published"]
    first_result = next(i for i, (_hop, detail) in enumerate(hops) if detail.startswith("result"))
    assert len(published) == 2 and max(published) < first_result  # both sent before either came back


async def test_an_llm_plan_still_failing_after_its_repair_is_replaced_and_the_user_is_told(tmp_path: Path) -> None:
    # The rule checked used to be "outdoors in the rain"; offline weather no longer invents rainy days, so this
    # now exercises the no-repeated-sight rule: the plan is sent back once, fails again, the offline one is used.
    dates = ["2026-12-05", "2026-12-06", "2026-12-07"]
    careless = _llm_itinerary(dates, repeat=True)
    async with FakeOpenAI(api_key="sk-test") as fake:
        fake.script(completion(trip_reading()), completion(careless), completion(careless))
        async with running(tmp_path, openai_base_url=fake.base_url, openai_api_key="sk-test") as p:
            reply = await ask(p, progress_out=io.StringIO(), answer_timeout_s=60, text="3 days in Kyoto next weekend")
        requests: list[Any] = list(fake.requests)
    assert len(requests) == 3  # the reading, the plan, then one repair with the violations
    assert "Fushimi Inari is planned 3 times" in requests[2].json["messages"][-1]["content"]
    assert reply.payload["status"] == "completed"
    assert _dates(reply.payload) == dates
    assert all(d["title"] != "Kyoto day 1" for d in reply.payload["itinerary"])  # the offline plan
    assert "failed my checks (a repeated sight)" in reply.text


async def test_chat_loop_help_follow_up_trace_and_new_conversation(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    lines = iter(["/help", "3 days in Kyoto next weekend", "make it 2 days", "/trace", "/new", "make it 2 days",
                  "/exit"])

    def read_line(prompt: str) -> str:
        return next(lines)

    async with running(tmp_path) as p, open_terminal(p, sys.stdout, answer_timeout_s=60) as term:
        assert await chat_loop(term, read_line) == 0
    out = capsys.readouterr().out
    assert "Follow-ups amend the last plan" in out
    assert "3-day plan for Kyoto" in out and "2-day plan for Kyoto" in out
    assert "answer delivered" in out  # the trace of the last request
    assert out.rstrip().endswith("“weather in Shanghai tomorrow”.")  # after /new, no plan to amend


@asynccontextmanager
async def live_weather(tmp_path: Path) -> AsyncIterator[tuple[Pipeline, FakeOpenMeteo]]:
    """The pipeline with Open-Meteo switched on (pointed at the stand-in) and the real clock."""
    async with FakeOpenMeteo(today=date.today()) as meteo:
        settings = load_settings(
            data_dir=tmp_path, rocketmq_endpoint="", weather_online=True,
            open_meteo_geocoding_url=meteo.geocoding_url, open_meteo_forecast_url=meteo.forecast_url,
            open_meteo_climate_url=meteo.climate_url,
        )
        async with pipeline(settings, agents="inline", clock=lambda: datetime.now(UTC)) as p:
            yield p, meteo


async def test_live_forecast_is_used_and_labelled(tmp_path: Path) -> None:
    async with live_weather(tmp_path) as (p, meteo):
        reply = await ask(p, progress_out=io.StringIO(), answer_timeout_s=60, text="3 days in Hangzhou next weekend")
        paths = {r.path for r in meteo.requests}
    assert reply.payload["status"] == "completed"
    assert {w["source"] for w in reply.payload["weather"]} == {"forecast"}
    assert "forecast" in reply.text
    assert {"/v1/search", "/v1/forecast"} <= paths


async def test_a_real_place_without_built_in_knowledge_gets_its_weather_and_an_honest_answer(tmp_path: Path) -> None:
    async with live_weather(tmp_path) as (p, _meteo):
        reply = await ask(p, progress_out=io.StringIO(), answer_timeout_s=60, text="3 days in Reykjavik next weekend")
    assert reply.payload["status"] == "needs_clarification"
    assert "no built-in knowledge" in reply.text and "LLM" in reply.text
    assert len(reply.payload["weather"]) == 3 and reply.payload["itinerary"] == []
