"""One progress stream to every surface: a plan's draft, reported while the Travel agent works, reaches Slack,
DingTalk and the terminal in order, and the checked answer replaces it.

The Travel agent's handler reports its draft through ``agents.partial`` (as the LLM planner does while a
model streams) before the real planner answers; the drafts travel as PARTIAL results on the task's lite
topic and the Supervisor hands them to every adapter as ``Phase.PARTIAL``.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
from pathlib import Path
from typing import Any

from adapters.dingtalk import DingTalkSettings
from adapters.slack import SlackSettings
from agents import partial
from agents.worker import StepHandler
from bot.settings import load_settings
from bot.wire import TaskMessage, TravelInput
from bot.wiring import chat_services, pipeline, terminal
from tests.browser.stack import browser, csrf, post, read_until, web_stack
from tests.e2e.test_dingtalk import NOW, REFERENCE, itineraries
from tests.standins.fake_dingtalk import FakeDingTalk
from tests.standins.fake_openai import FakeOpenAI, completion, trip_reading
from tests.standins.fake_slack import FakeSlack
from tests.standins.scripted_http import Recorded, Reply

DRAFTS = ("**Day 1** West Lake\n", "**Day 1** West Lake\n**Day 2** Lingyin Temple\n",
          "**Day 1** West Lake\n**Day 2** Lingyin Temple\n**Day 3** Longjing tea fields\n")
STREAMING = "/v1.0/card/streaming"
KYOTO = "3 days in Kyoto next weekend"


def drafting(handler: StepHandler) -> StepHandler:
    """The Travel agent writes its plan in three steps, 0.6 s apart (longer than the partial throttle)."""
    async def handle(task: TaskMessage) -> Any:
        if isinstance(task.input, TravelInput):
            for draft in DRAFTS:
                await partial.report(draft)
                await asyncio.sleep(0.6)
        return await handler(task)
    return handle


def first_index(texts: list[str], needle: str) -> int:
    return next(i for i, text in enumerate(texts) if needle in text)


async def test_a_draft_reaches_slack_dingtalk_and_the_terminal_in_order(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, rocketmq_endpoint="")
    out = io.StringIO()
    async with FakeSlack() as slack, FakeDingTalk() as dingtalk:
        platforms = {
            "slack": SlackSettings(bot_token=slack.bot_token, app_token=slack.app_token, api_url=slack.api_url),
            "dingtalk": DingTalkSettings(client_id=dingtalk.client_id, client_secret=dingtalk.client_secret,
                                         openapi_endpoint=dingtalk.openapi_endpoint, card_template_id="ai-card"),
        }
        async with (
            pipeline(settings, agents="inline", clock=lambda: NOW, wrap=drafting) as p,
            chat_services(settings, p, platforms),
            terminal(p, out, answer_timeout_s=60) as term,
        ):
            await slack.wait_connected()
            await dingtalk.wait_connected(timeout=10)
            await slack.push_event(slack.assistant_thread_started())
            await slack.wait_for(lambda: bool(slack.calls_to("assistant.threads.setSuggestedPrompts")))
            thread = str(slack.calls_to("assistant.threads.setSuggestedPrompts")[0].params["thread_ts"])
            await slack.push_event(slack.assistant_message(REFERENCE, thread))
            await dingtalk.push_chatbot_message(REFERENCE)
            term.new_conversation()
            answer = await term.ask(REFERENCE)
            await slack.wait_for(lambda: any(c.response["ok"] for c in slack.calls_to("chat.stopStream")), timeout=30)
            await dingtalk.wait_for(lambda: len(itineraries(dingtalk.webhook_posts)) == 1, timeout=30)
            await dingtalk.wait_for(lambda: any(c.get("flowStatus") == "3" for c in dingtalk.cards.values()))

    # Slack: the Travel step's output grows with the draft, in order, before the stream is stopped
    outputs = [str(c.get("output") or "") for call in slack.calls_to("chat.appendStream")
               for c in call.params.get("chunks") or [] if c.get("id") == "travel"]
    assert first_index(outputs, "Day 1") < first_index(outputs, "Day 2") < first_index(outputs, "Day 3")
    assert slack.calls_to("chat.appendStream")[-1].at < slack.calls_to("chat.stopStream")[0].at
    # DingTalk: the card quotes the draft as it grows; the finished card shows the steps only
    contents = [str(c.body["content"]) for c in dingtalk.openapi_calls if c.path == STREAMING]
    assert first_index(contents, "> **Day 1**") < first_index(contents, "> **Day 2**") \
        < first_index(contents, "> **Day 3**")
    assert "Day 1" not in contents[-1] and "✅" in contents[-1]
    # the terminal: each draft line once, in order, before the answer
    lines = out.getvalue().splitlines()
    drafted = [line for line in lines if "┊" in line]
    assert drafted == ["  ┊ **Day 1** West Lake", "  ┊ **Day 2** Lingyin Temple", "  ┊ **Day 3** Longjing tea fields"]
    assert "杭州" in answer.text and "Day 1" not in answer.text  # the checked plan replaces the draft


def streamed_plan(recorded: Recorded) -> Reply:
    """The stand-in model: a reading that leaves the request to our parser, or a plan for the dates asked."""
    body = recorded.json or {}
    schema = ((body.get("response_format") or {}).get("json_schema") or {}).get("name")
    if schema != "itinerary":
        return completion(trip_reading())
    asked = next(str(m["content"]) for m in body["messages"] if m["role"] == "user")  # a repair asks again
    dates = re.findall(r"\d{4}-\d{2}-\d{2}", asked.rsplit(":", 1)[-1])
    days = [{"date": day, "title": f"Day {i + 1}: lakeside and hills", "notes": "Plan B if it rains: a museum.",
             "activities": [{"time": f"{9 + 4 * j:02d}:00", "name": f"Sight {i + 1}.{j + 1}", "indoor": False,
                             "duration_hours": 2, "kind": "sight"} for j in range(2)]}
            for i, day in enumerate(dates)]
    return completion(json.dumps({"destination": "Kyoto", "summary": "A streamed plan", "tips": [], "days": days}))


def titles_in_order(texts: list[str], count: int) -> bool:
    firsts = [next((i for i, text in enumerate(texts) if f"Day {n}:" in text), -1) for n in range(1, count + 1)]
    return -1 not in firsts and firsts == sorted(firsts)


async def test_a_streaming_llm_shows_its_plan_as_it_writes_it_on_every_surface(tmp_path: Path) -> None:
    out = io.StringIO()
    async with FakeSlack() as slack, FakeDingTalk() as dingtalk, FakeOpenAI(stream_delay_s=0.05) as llm:
        llm.default = streamed_plan
        settings = load_settings(data_dir=tmp_path, rocketmq_endpoint="", llm_provider="openai",
                                 openai_base_url=llm.base_url, openai_api_key=llm.api_key)
        platforms = {
            "slack": SlackSettings(bot_token=slack.bot_token, app_token=slack.app_token, api_url=slack.api_url),
            "dingtalk": DingTalkSettings(client_id=dingtalk.client_id, client_secret=dingtalk.client_secret,
                                         openapi_endpoint=dingtalk.openapi_endpoint, card_template_id="ai-card"),
        }
        async with (
            pipeline(settings, agents="inline", clock=lambda: NOW) as p,
            chat_services(settings, p, platforms),
            terminal(p, out, answer_timeout_s=60) as term,
        ):
            await slack.wait_connected()
            await dingtalk.wait_connected(timeout=10)
            await slack.push_event(slack.assistant_thread_started())
            await slack.wait_for(lambda: bool(slack.calls_to("assistant.threads.setSuggestedPrompts")))
            thread = str(slack.calls_to("assistant.threads.setSuggestedPrompts")[0].params["thread_ts"])
            await slack.push_event(slack.assistant_message(KYOTO, thread))
            await dingtalk.push_chatbot_message(KYOTO)
            term.new_conversation()
            answer = await term.ask(KYOTO)
            await slack.wait_for(lambda: any(c.response["ok"] for c in slack.calls_to("chat.stopStream")), timeout=30)
            await dingtalk.wait_for(lambda: any("Sight 1.1" in str(w.body) for w in dingtalk.webhook_posts), timeout=30)

    assert any((r.json or {}).get("stream") for r in llm.requests)  # the planner asked for a stream
    outputs = [str(c.get("output") or "") for call in slack.calls_to("chat.appendStream")
               for c in call.params.get("chunks") or [] if c.get("id") == "travel"]
    contents = [str(c.body["content"]) for c in dingtalk.openapi_calls if c.path == STREAMING]
    drafted = [line for line in out.getvalue().splitlines() if "┊" in line]
    assert titles_in_order(outputs, 2) and titles_in_order(contents, 2) and titles_in_order(drafted, 3)
    assert answer.payload["status"] == "completed" and "Sight 1.1" in answer.text
    assert "Day 1: lakeside" in str(answer.payload)  # the checked plan replaced its draft


async def test_the_web_page_gets_the_draft_as_step_draft_events_before_the_answer(tmp_path: Path) -> None:
    async with web_stack(tmp_path, wrap=drafting) as web, browser() as client:
        token = await csrf(client, web.url)
        async with asyncio.timeout(30), client.get(web.url + "events") as stream:
            assert (await post(client, web.url, REFERENCE, token)).status == 202
            seen = await read_until(stream, "RUN_FINISHED", [])

    labels = [e.label for e in seen]
    drafts = [e.data["value"]["text"] for e in seen if e.label == "CUSTOM:step_draft"]
    assert drafts == list(DRAFTS)  # each draft once, in order (0.6 s apart: none throttled away)
    assert labels.index("CUSTOM:step_draft") > labels.index("STEP_STARTED:travel")
    assert max(i for i, label in enumerate(labels) if label == "CUSTOM:step_draft") < labels.index("TEXT_MESSAGE_START")
