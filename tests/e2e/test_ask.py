"""`tourguide ask` end to end: embedded broker, agents in their own processes, no network, no keys."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

NOW = "2026-11-23T09:00:00+08:00"  # a Monday
REFERENCE = "帮我做一个下周三到下周日杭州周边自驾游方案"


def ask(data_dir: Path, text: str, *extra: str, agents: str = "process") -> tuple[int, Any, str]:
    """Run `python -m bot ask --json` in a clean environment; (exit code, JSON answer, stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOURGUIDE_", "DASHSCOPE", "OPENAI", "SLACK"))}
    env["TOURGUIDE_DATA_DIR"] = str(data_dir)
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "--log-level", "WARNING", "ask", text, "--json", "--now", NOW,
         "--agents", agents, *extra],
        capture_output=True, text=True, env=env, timeout=180, check=False,
    )
    answer = json.loads(proc.stdout) if proc.stdout.strip().startswith("{") else None
    return proc.returncode, answer, proc.stderr


def test_reference_request_gives_five_weather_aware_days(tmp_path: Path) -> None:
    code, answer, stderr = ask(tmp_path, REFERENCE)
    assert code == 0, stderr
    assert answer["status"] == "completed"
    assert answer["intent"] == "itinerary"
    request = answer["request"]
    assert (request["destination"], request["start_date"], request["end_date"]) == (
        "Hangzhou", "2026-12-02", "2026-12-06")
    assert request["mode"] == "self_drive" and request["language"] == "zh"
    dates = [f"2026-12-0{d}" for d in range(2, 7)]
    assert [w["date"] for w in answer["weather"]] == dates
    assert {w["source"] for w in answer["weather"]} == {"offline"}  # no network: clearly labelled
    assert [d["date"] for d in answer["itinerary"]] == dates
    wet = {w["date"] for w in answer["weather"] if w["precipitation_probability"] >= 60 or w["condition"] in
           ("drizzle", "rain", "heavy_rain", "thunderstorm", "snow")}
    for day in answer["itinerary"]:
        assert day["activities"], day
        if day["date"] in wet:
            assert all(a["indoor"] for a in day["activities"]), f"rainy {day['date']} planned outdoors"
    assert any(a.get("drive_hours") for d in answer["itinerary"] for a in d["activities"])  # 周边: day trips
    assert "杭州" in answer["message"] or "Hangzhou" in answer["message"]
    assert "离线" in answer["message"]  # the offline weather is labelled in the text too
    assert "天气" in stderr  # progress lines went to stderr while the request ran


def test_weather_only_question_asks_only_the_weather_agent(tmp_path: Path) -> None:
    code, answer, stderr = ask(tmp_path, "明天上海天气怎么样", agents="inline")
    assert code == 0, stderr
    assert answer["intent"] == "weather"
    assert [w["date"] for w in answer["weather"]] == ["2026-11-24"]
    assert answer["itinerary"] == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("   ", "needs_clarification"),
        ("x" * 10_000, "needs_clarification"),
        ("asdkjh qwe zzxq", "needs_clarification"),
        ("3 days in Atlantisville next weekend", "needs_clarification"),
        ("2025年3月1日到3日去杭州玩", "needs_clarification"),
        ("12月7日到12月5日去苏州", "needs_clarification"),
    ],
    ids=["empty", "10k-chars", "gibberish", "unknown-place", "past-dates", "end-before-start"],
)
def test_bad_input_gets_one_clear_answer(tmp_path: Path, text: str, expected: str) -> None:
    code, answer, stderr = ask(tmp_path, text, agents="inline")
    assert answer is not None, stderr
    assert answer["status"] == expected
    assert code == 3
    assert answer["message"] and "Traceback" not in answer["message"] and "Traceback" not in stderr
