"""`/trip <!channel> <@U…>` through real Bolt and FakeSlack: the bot echoes the request but pings nobody."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.test_slack import answers, slack_bot
from tests.standins.fake_slack import FakeSlack, PostedMessage

PINGS = ("<!channel>", "<!here>", "<!everyone>", "<@U0BOSS>", "<!subteam^S1>", "<http")


def _all_text(message: PostedMessage) -> str:
    return message.text + json.dumps(message.blocks or [])


async def test_mentions_in_a_request_are_echoed_as_text_not_as_pings(tmp_path: Path) -> None:
    request = "<!channel> <!here> <@U0BOSS> <!subteam^S1> <http://evil.example|ok> 3 days in Kyoto next weekend"
    async with FakeSlack() as slack, slack_bot(tmp_path, slack):
        await slack.push_slash_command("/trip", request, user_id="U1")
        await slack.wait_for(lambda: len(answers(slack)) == 1, timeout=15)
        await slack.wait_for(lambda: any("✅" in m.text or "💬" in m.text for m in slack.updated_messages), timeout=5)

    spoken = [*slack.posted_messages, *slack.updated_messages]
    assert spoken
    for message in spoken:
        text = _all_text(message)
        assert not any(ping in text for ping in PINGS), text
    parent = next(m for m in slack.posted_messages if m.thread_ts is None)
    assert parent.text.startswith("<@U1> ")  # the asker is still addressed
    assert "&lt;!channel&gt;" in parent.text  # and the request is shown as typed
