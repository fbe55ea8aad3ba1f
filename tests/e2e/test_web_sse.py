"""The web page's HTTP side with aiohttp's client: AG-UI events over SSE, Last-Event-ID resume, who may do what.

The real server and the real pipeline (embedded broker, agents inline); a client cookie jar is one browser.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import aiohttp

from adapters.web.settings import WebSettings
from agents.worker import StepHandler
from bot.errors import ExternalServiceError
from bot.settings import load, load_settings
from bot.wire import TaskMessage
from bot.wiring import chat_services, pipeline
from tests.browser.stack import NOW, REFERENCE, Event, browser, csrf, post, read_until, web_stack


async def test_reference_request_streams_steps_in_order_then_five_days_with_weather(tmp_path: Path) -> None:
    async with web_stack(tmp_path) as web, browser() as client:
        token = await csrf(client, web.url)
        async with asyncio.timeout(30), client.get(web.url + "events") as stream:
            assert stream.headers["Content-Type"].startswith("text/event-stream")
            accepted = await post(client, web.url, REFERENCE, token)
            assert accepted.status == 202
            seen = await read_until(stream, "RUN_FINISHED", [])

    labels = [e.label for e in seen if e.label != "CUSTOM:step_delivery"]
    assert labels[:7] == ["CUSTOM:user_message", "RUN_STARTED", "STEP_STARTED:weather", "STEP_FINISHED:weather",
                          "STEP_STARTED:travel", "STEP_FINISHED:travel", "TEXT_MESSAGE_START"]
    picked_up = [e.data["value"] for e in seen if e.label == "CUSTOM:step_delivery"]  # the agents run inline
    assert [(v["step"], v["attempt"], v["failed"]) for v in picked_up] == [("weather", 1, False), ("travel", 1, False)]
    assert picked_up[0]["state"] == "✋ 助手已接手"
    assert labels[-3:] == ["TEXT_MESSAGE_END", "CUSTOM:answer", "RUN_FINISHED"]
    assert all(e.id for e in seen) and len({e.id for e in seen}) == len(seen)
    answer = next(e.data["value"] for e in seen if e.label == "CUSTOM:answer")
    days = answer["itinerary"]
    assert [d["date"] for d in days] == ["2026-12-02", "2026-12-03", "2026-12-04", "2026-12-05", "2026-12-06"]
    weather = {w["date"]: w for w in answer["weather"]}
    assert all(d["date"] in weather and weather[d["date"]]["source"] in ("forecast", "climate", "offline")
               for d in days)
    text = "".join(e.data["delta"] for e in seen if e.type == "TEXT_MESSAGE_CONTENT")
    assert "杭州" in text
    # The page's words come with the events, in the request's language: nothing to translate in the browser.
    assert seen[0].data["value"]["reading"] == "正在理解你的请求…"  # shown before the request is read
    started = next(e.data for e in seen if e.type == "RUN_STARTED")
    assert started["rawEvent"]["labels"]["took"] == "用时 {s} 秒"
    words = answer["labels"]
    assert words["indoor"] == "室内" and words["outdoor"] == "户外" and words["conditions"]["partly_cloudy"] == "多云"
    assert {w["condition"] for w in answer["weather"]} <= set(words["conditions"])


async def test_a_reconnect_with_last_event_id_resumes_without_loss_or_repeats(tmp_path: Path) -> None:
    async with web_stack(tmp_path, agent_latency_s=0.3) as web, browser() as client:
        token = await csrf(client, web.url)
        first: list[Event] = []
        async with asyncio.timeout(30):
            async with client.get(web.url + "events") as stream:
                await post(client, web.url, REFERENCE, token)
                await read_until(stream, "STEP_STARTED", first)  # cut off mid-request
            rest: list[Event] = []
            async with client.get(web.url + "events", headers={"Last-Event-ID": first[-1].id}) as stream:
                await read_until(stream, "RUN_FINISHED", rest)
            everything: list[Event] = []
            async with client.get(web.url + "events") as stream:  # a reload: the whole log again
                await read_until(stream, "RUN_FINISHED", everything)

    assert [e.id for e in first + rest] == [e.id for e in everything]
    assert [e.data for e in first + rest] == [e.data for e in everything]
    assert sum(e.type == "TEXT_MESSAGE_START" for e in everything) == 1


async def test_an_event_id_of_an_earlier_process_replays_the_whole_log(tmp_path: Path) -> None:
    async with web_stack(tmp_path) as web, browser() as client:
        token = await csrf(client, web.url)
        await post(client, web.url, "/new", token)
        await post(client, web.url, "hello", token)
        async with asyncio.timeout(30), client.get(web.url + "events",
                                                   headers={"Last-Event-ID": "0badf00d.40"}) as stream:
            seen = await read_until(stream, "RUN_FINISHED", [])
    assert seen[0].label == "CUSTOM:user_message" and seen[0].id.endswith(".1")


async def test_posts_need_the_csrf_token_and_our_origin_and_are_rate_limited(tmp_path: Path) -> None:
    async with web_stack(tmp_path, rate_per_minute=2) as web, browser() as client:
        token = await csrf(client, web.url)
        async with client.post(web.url + "api/messages", json={"text": "hi"}) as response:
            assert response.status == 403
        async with client.post(web.url + "api/messages", json={"text": "hi"},
                               headers={"X-CSRF-Token": token, "Origin": "http://evil.example"}) as response:
            assert response.status == 403
        async with browser() as other:  # another browser's token is not this one's
            other_token = await csrf(other, web.url)
        assert (await post(client, web.url, "hi", other_token)).status == 403
        statuses = [(await post(client, web.url, "3 days in Kyoto next weekend", token)).status for _ in range(3)]
        assert statuses == [202, 202, 429]


async def test_session_cookie_is_httponly_and_samesite_lax_and_the_page_forbids_inline_script(tmp_path: Path) -> None:
    async with web_stack(tmp_path) as web, browser() as client, client.get(web.url) as page:
        cookie = page.headers["Set-Cookie"]
        policy = page.headers["Content-Security-Policy"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy


async def test_a_browser_sees_only_its_own_traces_unless_it_has_the_admin_token(tmp_path: Path) -> None:
    async with web_stack(tmp_path, admin_token="s3cret-admin") as web, browser() as alice, browser() as bob:
        token = await csrf(alice, web.url)
        async with asyncio.timeout(30), alice.get(web.url + "events") as stream:
            await post(alice, web.url, REFERENCE, token)
            seen = await read_until(stream, "RUN_FINISHED", [])
        task_id = next(e.data["runId"] for e in seen if e.type == "RUN_STARTED")
        mine = await delivered_trace(alice, web.url, task_id)
        async with alice.get(web.url + "api/trace", params={"q": "WeatherAgentTask"}) as response:
            by_topic = (await response.json())["tasks"]
        async with alice.get(web.url + "api/trace", params={"q": "lite_topic=" + task_id}) as response:
            by_lite_topic = (await response.json())["tasks"]
        async with bob.get(web.url + "api/trace", params={"q": task_id}) as response:
            theirs = (await response.json())["tasks"]
        async with bob.get(web.url + "api/trace", params={"q": task_id},
                           headers={"X-Admin-Token": "s3cret-admin"}) as response:
            admin = (await response.json())["tasks"]
    assert [t["task_id"] for t in mine] == [task_id] == [t["task_id"] for t in admin]
    assert [t["task_id"] for t in by_topic] == [task_id] == [t["task_id"] for t in by_lite_topic]
    assert theirs == []
    hops = [(h["hop"], h["detail"]) for h in mine[0]["hops"]]
    assert hops[0] == ("session", "created with 2 steps") and ("outbox", "answer delivered") in hops
    published = [d for h, d in hops if h == "bus:published"]
    assert any("topic=WeatherAgentTask" in d and "tag=weather" in d and f"keys={task_id}" in d and "msg_id=" in d
               for d in published)
    assert any("topic=WorkerAgentResponse" in d and f"lite_topic={task_id}" in d for d in published)
    assert any(h == "bus:delivered" and "attempt=1" in d and "group=WeatherAgentTaskConsumerGroup" in d
               for h, d in hops)
    acked = [d for h, d in hops if h == "bus:acked"]  # two tasks (by the agents), two results (by the Supervisor)
    assert sorted(d.split()[0] for d in acked) == ["topic=TravelAgentTask", "topic=WeatherAgentTask",
                                                   "topic=WorkerAgentResponse", "topic=WorkerAgentResponse"]


async def delivered_trace(client: aiohttp.ClientSession, url: str, task_id: str) -> list[dict[str, Any]]:
    """The task's trace once it has the delivery hop (marked right after the page got the answer) and the last
    result's ack (reported by the client thread right after the Supervisor's handler returned)."""
    async with asyncio.timeout(10):
        while True:
            async with client.get(url + "api/trace", params={"q": task_id}) as response:
                tasks: list[dict[str, Any]] = (await response.json())["tasks"]
            hops = tasks[0]["hops"] if tasks else []
            if any(h["detail"] == "answer delivered" for h in hops) and sum(h["hop"] == "bus:acked" for h in hops) == 4:
                return tasks
            await asyncio.sleep(0.05)


async def test_with_an_access_token_nothing_is_served_until_it_is_presented(tmp_path: Path) -> None:
    async with web_stack(tmp_path, token="let-me-in") as web, browser() as client:
        async with client.get(web.url + "api/session") as response:
            assert response.status == 401
        async with client.get(web.url, params={"token": "wrong"}) as response:
            assert response.status == 401
        async with client.get(web.url, params={"token": "let-me-in"}) as response:
            assert response.status == 200 and str(response.url) == web.url  # redirected: the token left the URL
        async with client.get(web.url + "api/session") as response:
            assert response.status == 200
        async with browser() as other, other.get(web.url + "api/session",
                                                 headers={"Authorization": "Bearer let-me-in"}) as response:
            assert response.status == 200


async def test_tourguide_bot_serves_the_page_when_a_web_port_is_set(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a free port: the registry's web platform is on only for a real port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = load_settings(data_dir=tmp_path, rocketmq_endpoint="")
    web = load(WebSettings, host="127.0.0.1", port=port)
    async with (
        pipeline(settings, agents="inline", clock=lambda: NOW) as p,
        chat_services(settings, p, {"web": web}) as services,
        browser() as client,
    ):
        assert services.platforms == ["web"]
        token = await csrf(client, services.url("web"))
        async with asyncio.timeout(30), client.get(services.url("web") + "events") as stream:
            await post(client, services.url("web"), REFERENCE, token)
            seen = await read_until(stream, "RUN_FINISHED", [])
    assert sum(e.type == "TEXT_MESSAGE_START" for e in seen) == 1


async def test_a_request_cut_off_by_a_restart_is_answered_once_to_the_same_browser(tmp_path: Path) -> None:
    before: list[Event] = []
    after: list[Event] = []
    async with browser() as client:
        async with web_stack(tmp_path, agent_latency_s=1.0) as web:
            token = await csrf(client, web.url)
            async with asyncio.timeout(30), client.get(web.url + "events") as stream:
                await post(client, web.url, REFERENCE, token)
                await read_until(stream, "STEP_STARTED", before)
        # Stopped mid-request; the next run resumes the session and delivers its answer to the same cookie.
        async with (
            web_stack(tmp_path) as web,
            asyncio.timeout(60),
            client.get(web.url + "events", headers={"Last-Event-ID": before[-1].id}) as stream,
        ):
            await read_until(stream, "RUN_FINISHED", after)
    assert sum(e.type == "TEXT_MESSAGE_START" for e in after) == 1
    answer = next(e.data["value"] for e in after if e.label == "CUSTOM:answer")
    assert answer["task_id"] == before[1].data["runId"] and len(answer["itinerary"]) == 5


def fails_first_weather_attempt(handler: StepHandler) -> StepHandler:
    """The weather agent's first try fails as a flaky model API would; the broker delivers the step again."""
    tried: set[str] = set()

    async def flaky(task: TaskMessage) -> Any:
        if task.step_id == "weather" and task.task_id not in tried:
            tried.add(task.task_id)
            raise ExternalServiceError("model API unavailable")
        return await handler(task)

    return flaky


async def test_a_retried_step_shows_the_failed_attempt_and_the_next_one_and_the_trace_has_the_nack(
        tmp_path: Path) -> None:
    async with web_stack(tmp_path, wrap=fails_first_weather_attempt) as web, browser() as client:
        token = await csrf(client, web.url)
        async with asyncio.timeout(30), client.get(web.url + "events") as stream:
            await post(client, web.url, REFERENCE, token)
            seen = await read_until(stream, "RUN_FINISHED", [])
        task_id = next(e.data["runId"] for e in seen if e.type == "RUN_STARTED")
        async with client.get(web.url + "api/trace", params={"q": task_id}) as response:
            hops = [(h["hop"], h["detail"]) for h in (await response.json())["tasks"][0]["hops"]]
    deliveries = [(v["step"], v["attempt"], v["failed"]) for v in
                  (e.data["value"] for e in seen if e.label == "CUSTOM:step_delivery")]
    assert deliveries == [("weather", 1, False), ("weather", 1, True), ("weather", 2, False), ("travel", 1, False)]
    assert sum(e.type == "TEXT_MESSAGE_START" for e in seen) == 1
    assert any(h == "bus:nacked" and "attempt=1" in d and "model API unavailable" in d for h, d in hops)
    assert any(h == "bus:delivered" and "topic=WeatherAgentTask" in d and "attempt=2" in d for h, d in hops)


async def test_a_follow_up_amends_the_last_plan_and_new_starts_afresh(tmp_path: Path) -> None:
    async with web_stack(tmp_path) as web, browser() as client:
        token = await csrf(client, web.url)
        answers: list[dict[str, Any]] = []
        async with asyncio.timeout(60), client.get(web.url + "events") as stream:
            for text in (REFERENCE, "改成3天", "/new", "改成3天"):
                if text == "/new":
                    assert (await post(client, web.url, text, token)).status == 200
                    continue
                await post(client, web.url, text, token)
                seen = await read_until(stream, "RUN_FINISHED", [])
                answers.append(next(e.data["value"] for e in seen if e.label == "CUSTOM:answer"))
    assert [len(a["itinerary"]) for a in answers] == [5, 3, 0]
    assert answers[1]["request"]["destination"] == answers[0]["request"]["destination"]
    assert answers[2]["status"] == "needs_clarification"  # a fresh conversation has no plan to amend
