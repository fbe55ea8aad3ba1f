"""DingTalk Stream mode under kill -9 inside its windows (issue 8): one answer, none lost.

* ack -> commit: the bot is killed the moment DingTalk has its ACK; the ACK is sent only after the
  message and its session are committed, so the restarted bot answers although nothing is redelivered.
* post -> mark_sent: DingTalk took the answer, the bot died before recording it. DingTalk's send APIs
  offer no way to look a message up, so a part in doubt is not sent again (at most once per part).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_crash_windows import _rows, bot, kill_group
from tests.standins.fake_dingtalk import FakeDingTalk
from tests.waiting import until

pytestmark = pytest.mark.slow
REQUEST = "帮我做一个下周三到下周日杭州周边自驾游方案"
PLANNING = "正在为你规划"


def _env(fake: FakeDingTalk) -> dict[str, str]:
    return {"DINGTALK_CLIENT_ID": fake.client_id, "DINGTALK_CLIENT_SECRET": fake.client_secret,
            "DINGTALK_OPENAPI_ENDPOINT": fake.openapi_endpoint}


def _text(body: dict[str, Any]) -> str:
    return str((body.get("markdown") or {}).get("text", ""))


def _answers(fake: FakeDingTalk) -> list[str]:
    texts = [_text(p.body) for p in fake.webhook_posts] + [str(c.body.get("msgParam", "")) for c in fake.openapi_calls
                                                           if "msgParam" in c.body]
    return [t for t in texts if t and PLANNING not in t]


async def test_kill_right_after_the_ack_still_answers(tmp_path: Path) -> None:
    async with FakeDingTalk() as fake:
        async with bot(tmp_path, **_env(fake)) as first:
            await fake.wait_connected(timeout=30)
            frame = await fake.push_chatbot_message(REQUEST)
            await fake.wait_for(lambda: fake.ack_for(frame) is not None, timeout=30)
            await kill_group(first)
        assert fake.ack_for(frame).code == 200  # type: ignore[union-attr]
        assert _rows(tmp_path / "data", "SELECT event_id FROM inbound") == [(frame.data["msgId"],)]
        async with bot(tmp_path, **_env(fake)):  # DingTalk redelivers nothing: it has the ACK
            await until(lambda: _rows(tmp_path / "data", "SELECT status FROM outbox") == [("sent",)])
    assert len(_answers(fake)) == 1 and "杭州" in _answers(fake)[0]


async def test_kill_between_the_answer_and_mark_sent_sends_it_once(tmp_path: Path) -> None:
    async with FakeDingTalk() as fake:
        reached, release = fake.hold_webhook(lambda body: PLANNING not in _text(body))
        async with bot(tmp_path, **_env(fake)) as first:
            await fake.wait_connected(timeout=30)
            await fake.push_chatbot_message(REQUEST)
            await asyncio.wait_for(asyncio.to_thread(reached.wait, 60), 61)
            await kill_group(first)
        release.set()
        assert len(_answers(fake)) == 1
        async with bot(tmp_path, **_env(fake)):
            await until(lambda: _rows(tmp_path / "data", "SELECT status FROM outbox") == [("sent",)])
    assert len(_answers(fake)) == 1
