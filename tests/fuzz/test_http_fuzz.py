"""Fuzz the bot's HTTP ingress: Slack HTTP mode (``/slack/events``, Bolt) and DingTalk callbacks.

A bounded, seeded loop on 127.0.0.1 against the real runtime (FakeSlack / FakeDingTalk stand-ins behind
it): bad and missing signature headers (non-numeric, non-ASCII digits, huge and stale timestamps), bodies
that are not JSON, not UTF-8, nested thousands deep, of the wrong shape, in the wrong content type, and
the same bodies correctly signed, as only Slack or an eavesdropper on a DingTalk callback could send
them. Not one answer may be a 5xx.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest

from tests.e2e.test_dingtalk_http import dingtalk_http_bot
from tests.e2e.test_slack import slack_bot
from tests.e2e.test_slack_oauth import oauth_bot
from tests.standins.fake_dingtalk import FakeDingTalk
from tests.standins.fake_slack import FakeSlack

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("TOURGUIDE_FUZZ_SEED", "82026"))  # another seed explores further
REQUESTS_PER_ENDPOINT = 700
OAUTH_REQUESTS = 200
CONCURRENCY = 16
TIME_BUDGET_S = 120.0

TIMESTAMPS = ["", "abc", "١٢٣٤", " 12", "-5", "9" * 40, "1e9", "0x10", "1700000000.5", "null"]
DEEP = 100_000  # brackets: far past Python's recursion limit


def _bodies(rng: random.Random, valid: dict[str, Any], form: dict[str, str]) -> bytes:
    """One hostile body: structure, encoding and shape chosen at random."""
    choice = rng.randrange(16)
    if choice == 0:
        return b""
    if choice == 1:
        return rng.randbytes(rng.randint(1, 512))
    if choice == 2:
        return ("[" * DEEP + "]" * DEEP).encode()
    if choice == 3:
        return ('{"a":' * (DEEP // 10) + "1" + "}" * (DEEP // 10)).encode()
    if choice == 4:
        return rng.choice([b"null", b"[]", b"42", b'"text"', b"{", b"{\"a\":}", b"\xff\xfe{}", b"true"])
    if choice == 5:  # the right shape, the wrong types
        broken = dict(valid)
        key = rng.choice(list(broken))
        broken[key] = rng.choice([None, 42, [], {"x": [1]}, "x" * 5000, "<!channel>", True])
        return json.dumps(broken).encode()
    if choice == 6:  # a nested field of the wrong type
        broken = json.loads(json.dumps(valid))
        for value in broken.values():
            if isinstance(value, dict) and value:
                value[rng.choice(list(value))] = rng.choice([None, 7, ["a"], {"b": {}}])
        return json.dumps(broken).encode()
    if choice == 7:
        return urlencode({"payload": rng.choice(["{", "[]", "null", '{"type": 5}', "x" * 100])}).encode()
    if choice == 8:
        broken_form = dict(form)
        broken_form.pop(rng.choice(list(broken_form)))
        return urlencode(broken_form).encode()
    if choice == 9:
        return b"command=%ZZ&text=%E0%A4%A"  # bad percent-escapes and a cut UTF-8 sequence
    if choice == 10:
        return json.dumps({"type": rng.choice(["url_verification", "event_callback", "block_actions", 5, None]),
                           "challenge": rng.choice(["c", None, 3]), "event": rng.choice([None, "x", [], {}])}).encode()
    if choice == 11:
        return "中文".encode("gb18030") + rng.randbytes(8)
    if choice == 12:
        return json.dumps([valid] * rng.randint(1, 3)).encode()
    if choice == 13:
        return json.dumps(valid).encode()[: rng.randint(1, 60)]
    if choice == 14:
        return json.dumps(valid).encode()
    return urlencode(form).encode()


CONTENT_TYPES = ["application/json", "application/x-www-form-urlencoded", "text/plain", None,
                 "multipart/form-data; boundary=xyz", "application/json; charset=latin-1",
                 "application/json; charset=x"]


def _slack_request(rng: random.Random, slack: FakeSlack, secret: str) -> tuple[str, dict[str, str], bytes]:
    valid = slack.event_callback(slack.app_mention(rng.choice(["3 days in Kyoto", "<!channel> <@U1>", ""])))
    form = slack.slash_command("/trip", rng.choice(["3 days in Kyoto", "<!channel>", ""]))
    body = _bodies(rng, valid, form)
    headers: dict[str, str] = {}
    if (content_type := rng.choice(CONTENT_TYPES)) is not None:
        headers["Content-Type"] = content_type
    if rng.random() < 0.5:  # signed as Slack signs: only Slack could send these
        stamp = str(int(time.time()))
        base = f"v0:{stamp}:".encode() + body
        digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
        headers |= {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}
        if rng.random() < 0.2:
            headers |= {"X-Slack-Retry-Num": rng.choice(["1", "x", "-1", "٣"]), "X-Slack-Retry-Reason": "http_timeout"}
    else:
        if rng.random() < 0.8:
            headers["X-Slack-Request-Timestamp"] = rng.choice([*TIMESTAMPS, str(int(time.time()))])
        if rng.random() < 0.8:
            headers["X-Slack-Signature"] = rng.choice(["", "v0=", "v0=" + "a" * 64, "garbage", "v1=zz"])
    method = "POST" if rng.random() < 0.9 else rng.choice(["GET", "PUT", "DELETE", "PATCH"])
    return method, headers, body


def _dingtalk_request(rng: random.Random, fake: FakeDingTalk) -> tuple[str, dict[str, str], bytes]:
    valid = fake.chatbot_message(rng.choice(["帮我做一个下周三到下周日杭州周边自驾游方案", "<!channel>", ""]))
    body = _bodies(rng, valid, {"a": "b"})
    headers: dict[str, str] = {}
    if rng.random() < 0.5:  # a genuine (timestamp, sign) pair: what an eavesdropper on one callback has
        headers = fake.callback_headers()
    else:
        if rng.random() < 0.8:
            headers["timestamp"] = rng.choice([*TIMESTAMPS, str(int(time.time() * 1000))])
        if rng.random() < 0.8:
            headers["sign"] = rng.choice(["", "x", base64.b64encode(rng.randbytes(32)).decode(), "%%%"])
    if (content_type := rng.choice(CONTENT_TYPES)) is not None:
        headers["Content-Type"] = content_type
    method = "POST" if rng.random() < 0.9 else rng.choice(["GET", "PUT"])
    return method, headers, body


async def _send(session: aiohttp.ClientSession, url: str, request: tuple[str, dict[str, str], bytes],
                statuses: Counter[int]) -> None:
    method, headers, body = request
    async with session.request(method, url, data=body, headers=headers) as response:
        await response.read()
        statuses[response.status] += 1


async def _fuzz(url: str, make: Any, statuses: Counter[int]) -> int:
    sent = 0
    deadline = time.monotonic() + TIME_BUDGET_S
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        while sent < REQUESTS_PER_ENDPOINT and time.monotonic() < deadline:
            batch = [make() for _ in range(min(CONCURRENCY, REQUESTS_PER_ENDPOINT - sent))]
            await asyncio.gather(*(_send(session, url, r, statuses) for r in batch))
            sent += len(batch)
        # a few bodies over aiohttp's 1 MiB limit, and requests to paths nobody serves
        for extra in (url + "/../x", url.rsplit("/", 1)[0] + "/nothing", url + "?%ZZ"):
            await _send(session, extra, ("POST", {}, b"{}"), statuses)
        await _send(session, url, ("POST", {"Content-Type": "application/json"}, b"[" * (2 << 20)), statuses)
    return sent + 4


def _report(name: str, sent: int, statuses: Counter[int], capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():
        fives = sum(n for s, n in statuses.items() if s >= 500)
        print(f"\n{name} fuzz: seed {SEED}, {sent} requests, statuses {dict(sorted(statuses.items()))}, 5xx: {fives}")


async def test_slack_http_endpoint_never_answers_5xx(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(SEED)
    statuses: Counter[int] = Counter()
    async with FakeSlack() as slack, slack_bot(tmp_path, slack, http=True) as (_, services):
        sent = await _fuzz(services.url("slack"), lambda: _slack_request(rng, slack, slack.signing_secret), statuses)
    _report("Slack /slack/events", sent, statuses, capsys)
    assert sent == REQUESTS_PER_ENDPOINT + 4
    assert not [s for s in statuses if s >= 500], statuses


async def test_dingtalk_callback_never_answers_5xx(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(SEED)
    statuses: Counter[int] = Counter()
    async with FakeDingTalk() as fake, dingtalk_http_bot(tmp_path, fake) as (_, url):
        sent = await _fuzz(url, lambda: _dingtalk_request(rng, fake), statuses)
    _report("DingTalk /dingtalk/callback", sent, statuses, capsys)
    assert sent == REQUESTS_PER_ENDPOINT + 4
    assert not [s for s in statuses if s >= 500], statuses


def _oauth_request(rng: random.Random, base: str) -> tuple[str, str, dict[str, str]]:
    path = rng.choice(["/slack/install", "/slack/oauth_redirect"])
    junk = ["", "x", "%ZZ", "<script>", "a" * 3000, "\u202e", "null", "[]", "0"]
    query = {k: rng.choice(junk) for k in rng.sample(["code", "state", "error", "team", "scope"], rng.randint(0, 4))}
    headers = {"Cookie": f"slack-app-oauth-state={rng.choice(junk)}"} if rng.random() < 0.5 else {}
    return rng.choice(["GET", "GET", "POST"]), f"{base}{path}?{urlencode(query)}", headers


async def test_slack_oauth_pages_never_answer_5xx(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(SEED)
    statuses: Counter[int] = Counter()
    async with FakeSlack() as slack, oauth_bot(tmp_path, slack) as (_, services):
        base = services.url("slack").removesuffix("/slack/events")
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            for _ in range(OAUTH_REQUESTS):
                method, url, headers = _oauth_request(rng, base)
                async with session.request(method, url, headers=headers, allow_redirects=False) as response:
                    await response.read()
                    statuses[response.status] += 1
    _report("Slack OAuth pages", OAUTH_REQUESTS, statuses, capsys)
    assert not [s for s in statuses if s >= 500], statuses
