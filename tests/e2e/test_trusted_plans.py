"""Issue 12 end to end (embedded broker, inline agents, offline knowledge): multi-city trips, Chinese
holidays, a week without a repeated sight, and an LLM plan repaired after its first draft broke a rule."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.settings import load_settings
from bot.wiring import Pipeline, pipeline
from bot.wiring import terminal as open_terminal
from tests.standins.fake_openai import FakeOpenAI, completion, trip_reading
from tests.terminal import ask

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Tuesday


@asynccontextmanager
async def running(tmp_path: Path, **overrides: Any) -> AsyncIterator[Pipeline]:
    settings = load_settings(data_dir=tmp_path, rocketmq_endpoint="", **overrides)
    async with pipeline(settings, agents="inline", clock=lambda: NOW) as p:
        yield p


def _days(start: str, count: int) -> list[str]:
    first = date.fromisoformat(start)
    return [(first + timedelta(days=i)).isoformat() for i in range(count)]


def _sights(answer: dict[str, Any]) -> list[str]:
    return [a["name"] for d in answer["itinerary"] for a in d["activities"] if a["kind"] == "sight"]


async def test_two_cities_in_order_with_contiguous_dates_and_each_citys_weather(tmp_path: Path) -> None:
    async with running(tmp_path) as p:
        reply = await ask(p, progress_out=io.StringIO(), answer_timeout_s=60, text="北京5天然后上海3天")
        hops = [detail for _at, _hop, detail in await p.sessions.traces(reply.task_id)]
    answer = reply.payload
    assert answer["status"] == "completed", reply.text
    dates = _days("2026-12-02", 8)
    assert [d["date"] for d in answer["itinerary"]] == dates
    assert [d["city"] for d in answer["itinerary"]] == ["北京"] * 5 + ["上海"] * 3
    assert [leg["destination"] for leg in answer["request"]["legs"]] == ["Beijing", "Shanghai"]
    assert [w["date"] for w in answer["weather"]] == dates  # each city's weather for its own days
    assert answer["itinerary"][5]["kind"] == "transfer"  # day 6 starts with the train from Beijing
    assert "北京" in answer["itinerary"][5]["activities"][0]["name"]
    assert "北京天气" in reply.text and "上海天气" in reply.text
    assert hops.count("task published") == 4  # a weather and a travel step per city
    sights = _sights(answer)
    assert len(sights) == len(set(sights))


async def test_spring_festival_is_next_years_official_holiday(tmp_path: Path) -> None:
    async with running(tmp_path) as p:
        reply = await ask(p, progress_out=io.StringIO(), answer_timeout_s=60, text="春节去哈尔滨五天")
    answer = reply.payload
    assert answer["status"] == "completed", reply.text
    assert (answer["request"]["start_date"], answer["request"]["end_date"]) == ("2027-02-05", "2027-02-09")
    assert [d["date"] for d in answer["itinerary"]] == _days("2027-02-05", 5)
    assert "2027年春节假期为2月5日至2月10日" in reply.text  # the assumption is said, not silent
    assert "雪" in reply.text and "带伞" not in reply.text  # snow is snow
    sights = _sights(answer)
    assert len(sights) == len(set(sights))  # the Ice and Snow World once, not three times


async def test_a_week_in_kyoto_repeats_no_sight(tmp_path: Path) -> None:
    async with running(tmp_path) as p:
        reply = await ask(p, progress_out=io.StringIO(), answer_timeout_s=60, text="a week in Kyoto from Dec 12")
    answer = reply.payload
    assert answer["status"] == "completed", reply.text
    assert [d["date"] for d in answer["itinerary"]] == _days("2026-12-12", 7)
    sights = _sights(answer)
    assert len(sights) >= 10 and len(sights) == len(set(sights))
    assert "rain on about" in reply.text and "chance of rain" not in reply.text  # normals, not a forecast


async def test_an_llm_plan_repeating_a_sight_is_repaired(tmp_path: Path) -> None:
    dates = _days("2026-12-05", 3)

    def plan(names: list[list[str]]) -> str:
        return json.dumps({"destination": "Kyoto", "summary": "LLM plan", "tips": [], "days": [
            {"date": d, "title": f"Kyoto day {i + 1}", "notes": "Plan B if it rains: Kyoto National Museum.",
             "activities": [{"time": f"{9 + 3 * j:02d}:00", "name": n, "indoor": False, "duration_hours": 2,
                             "kind": "sight"} for j, n in enumerate(day)]}
            for i, (d, day) in enumerate(zip(dates, names, strict=True))]})

    first = plan([["Fushimi Inari", "Gion"], ["Fushimi Inari", "Kiyomizu-dera"], ["Fushimi Inari", "Nishiki"]])
    fixed = plan([["Fushimi Inari", "Gion"], ["Arashiyama", "Kiyomizu-dera"], ["Kinkaku-ji", "Nishiki"]])
    async with FakeOpenAI(api_key="sk-test") as fake:
        reading = trip_reading(destinations=[{"name": "Kyoto", "days": 3}], date_words="from Dec 5")
        fake.script(completion(reading), completion(first), completion(fixed))
        async with running(tmp_path, openai_base_url=fake.base_url, openai_api_key="sk-test") as p:
            reply = await ask(p, progress_out=io.StringIO(), answer_timeout_s=60, text="3 days in Kyoto from Dec 5")
        requests: list[Any] = list(fake.requests)
    assert len(requests) == 3  # the intake's reading, the first plan, the repair
    assert requests[0].json["response_format"]["json_schema"]["name"] == "trip_request"
    repair = requests[2].json
    assert repair["response_format"]["type"] == "json_schema"  # structured output
    assert "Fushimi Inari is planned 3 times" in repair["messages"][-1]["content"]
    assert repair["messages"][-2]["role"] == "assistant"  # the first draft goes back with the violations
    assert reply.payload["status"] == "completed"
    assert [d["title"] for d in reply.payload["itinerary"]] == ["Kyoto day 1", "Kyoto day 2", "Kyoto day 3"]
    assert "failed my checks" not in reply.text


async def test_origin_and_a_real_place_without_sights(tmp_path: Path) -> None:
    async with running(tmp_path) as p, open_terminal(p, io.StringIO(), answer_timeout_s=60) as terminal:
        wuyuan = await terminal.ask("从上海自驾去婺源，下周末")
        yangshuo = await terminal.ask("下周末去阳朔玩两天")  # a new place with dates: a new request
        hallstatt = await terminal.ask("2 days in Hallstatt from Dec 12")
    request = wuyuan.payload["request"]
    assert (request["origin"], request["destination"]) == ("Shanghai", "Wuyuan")
    assert wuyuan.payload["status"] == "completed", wuyuan.text
    first = wuyuan.payload["itinerary"][0]
    assert first["kind"] == "transfer" and "上海" in first["activities"][0]["name"]  # the drive from Shanghai
    assert yangshuo.payload["status"] == "needs_clarification"
    assert "我知道“阳朔（China）”" in yangshuo.text and "景点清单" in yangshuo.text
    assert "桂林" in yangshuo.text  # whose climate normals it borrows, said plainly
    assert len(yangshuo.payload["weather"]) == 2 and yangshuo.payload["itinerary"] == []
    assert "I know “Hallstatt (Austria)”" in hallstatt.text
    assert "snow on about" in hallstatt.text
