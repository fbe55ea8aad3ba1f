"""A Slack answer split over several messages is posted exactly once per part, even across a crash.

The real pipeline plans 16 days in Kyoto, which Block Kit's limits turn into two messages. FakeSlack
refuses the second part once; the bot is stopped before its retry and started again on the same data:
the first part must not be posted again.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from bot.retry import DELIVERY_RETRY
from bot.wiring import Pipeline
from tests.e2e.test_slack import answers, slack_bot
from tests.standins.fake_slack import FakeSlack, PostedMessage
from tests.waiting import until

LONG_REQUEST = "16 days in Kyoto next weekend"


async def test_a_split_answer_resumes_after_a_restart_without_repeating_parts(tmp_path: Path) -> None:
    retry = dataclasses.replace(DELIVERY_RETRY, initial_backoff_s=1.0)
    async with FakeSlack() as slack:
        dm = slack.im_message(LONG_REQUEST, user="U7")
        # the status message and the answer's first part get through; the second part is refused once
        slack.inject_error("chat.postMessage", "internal_error", after=2)
        async with slack_bot(tmp_path, slack, retry=retry) as (p, _):
            await slack.push_event(dm)
            await slack.wait_for(lambda: len(answers(slack)) == 1, timeout=15)
            task_id = await p.sessions.task_for_event("slack", slack.envelopes[0].payload["event_id"])
            assert task_id is not None
            await until(lambda: _failed_after_one_part(p, task_id))
        first_run = [_part(m) for m in answers(slack)]
        async with slack_bot(tmp_path, slack, retry=retry) as (p, _):
            await slack.wait_for(lambda: len(answers(slack)) == 2, timeout=15)
            await until(lambda: _sent(p, task_id))

    assert first_run == [(1, 2)]
    assert [_part(m) for m in answers(slack)] == [(1, 2), (2, 2)]  # each part once, in order
    assert {m.thread_ts for m in answers(slack)} == {dm["ts"]} and {m.channel for m in answers(slack)} == {"D0DM"}
    assert "Day 16" in answers(slack)[1].text or "Day 16" in str(answers(slack)[1].blocks)
    refused = [c for c in slack.calls_to("chat.postMessage") if not c.response.get("ok")]
    assert len(refused) == 1


def _part(message: PostedMessage) -> tuple[int, int]:
    payload = message.params["metadata"]["event_payload"]
    return int(payload["part"]), int(payload["parts"])


async def _failed_after_one_part(p: Pipeline, task_id: str) -> bool:
    reply = await p.outbox.get(task_id)
    return reply is not None and reply.attempts == 1 and reply.parts_sent == 1


async def _sent(p: Pipeline, task_id: str) -> bool:
    reply = await p.outbox.get(task_id)
    return reply is not None and reply.status.value == "sent" and reply.parts_sent == 2
