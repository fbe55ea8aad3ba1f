"""Slack multi-workspace installs over OAuth, end to end: Bolt's real OAuth flow over HTTP against FakeSlack,
installations in SQLite, and each workspace's events answered with that workspace's bot token.

Assertions are on the requests FakeSlack received and on the installation database.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import aiohttp

from adapters.slack import SlackSettings
from bot.settings import load_settings
from bot.wiring import ChatServices, Pipeline, chat_services, pipeline
from tests.standins.fake_slack import FakeSlack, PostedMessage, Workspace
from tests.waiting import settled

NOW = datetime(2026, 11, 23, 9, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Monday
REQUEST = "3 days in Kyoto next weekend"


@asynccontextmanager
async def oauth_bot(tmp_path: Path, slack: FakeSlack, *,
                    state_ttl_s: int = 600) -> AsyncIterator[tuple[Pipeline, ChatServices]]:
    """The bot runtime in OAuth mode (no bot token, HTTP mode) pointed at the stand-in."""
    settings = load_settings(data_dir=tmp_path, rocketmq_endpoint="")
    platform = SlackSettings(
        bot_token="", app_token="", signing_secret=slack.signing_secret, client_id=slack.client_id,
        client_secret=slack.client_secret, api_url=slack.api_url, oauth_state_ttl_s=state_ttl_s,
        http_host="127.0.0.1", http_port=0,
    )
    async with (
        pipeline(settings, agents="inline", clock=lambda: NOW) as p,
        chat_services(settings, p, {"slack": platform}) as services,
    ):
        slack.oauth_redirect_uri = _base(services) + "/slack/oauth_redirect"  # the app's configured Redirect URL
        yield p, services


def _base(services: ChatServices) -> str:
    return services.url("slack").removesuffix("/slack/events")


@asynccontextmanager
async def browser() -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client that does not follow redirects by itself, so each hop can be checked."""
    async with aiohttp.ClientSession() as session:
        yield session


async def start_install(http: aiohttp.ClientSession, services: ChatServices, team: str) -> tuple[str, str, str]:
    """GET /slack/install, then Slack's authorize page: returns (state, its cookie, the redirect back)."""
    async with http.get(_base(services) + "/slack/install", params={"team": team}, allow_redirects=False) as r:
        assert r.status == 302, await r.text()
        authorize, cookie = r.headers["Location"], r.headers["Set-Cookie"]
    state = parse_qs(urlsplit(authorize).query)["state"][0]
    async with http.get(authorize, allow_redirects=False) as r:  # the fake approves at once
        assert r.status == 302, await r.text()
        redirect = r.headers["Location"]
    assert redirect.startswith(_base(services) + "/slack/oauth_redirect?")
    return state, cookie.split(";")[0], redirect


async def finish_install(http: aiohttp.ClientSession, redirect: str, cookie: str | None) -> int:
    """The browser lands on /slack/oauth_redirect. Bolt's state cookie is ``Secure`` (HTTPS only), so over
    this plain-HTTP test it is sent by hand, as a browser would over TLS."""
    headers = {"Cookie": cookie} if cookie else {}
    async with http.get(redirect, headers=headers, allow_redirects=False) as r:
        await r.read()
        return r.status


async def install(services: ChatServices, team: str) -> int:
    """The whole install flow for workspace ``team``; returns the status of the final redirect."""
    async with browser() as http:
        _, cookie, redirect = await start_install(http, services, team)
        return await finish_install(http, redirect, cookie)


def installed_teams(tmp_path: Path) -> set[str]:
    with sqlite3.connect(tmp_path / "slack_installations.sqlite3") as db:
        return {row[0] for row in db.execute("SELECT team_id FROM slack_bots")}


def answers(slack: FakeSlack) -> list[PostedMessage]:
    """Answer messages (tagged with our metadata), not status messages."""
    return [m for m in slack.posted_messages if _meta(m).get("event_type") == "tourguide_answer"]


def _meta(message: PostedMessage) -> dict[str, Any]:
    meta = message.params.get("metadata")
    return meta if isinstance(meta, dict) else {}


async def mention(slack: FakeSlack, services: ChatServices, workspace: Workspace, channel: str) -> dict[str, Any]:
    """A signed app_mention from ``workspace``, posted to /slack/events; returns the event."""
    event = slack.app_mention(REQUEST, channel=channel, team=workspace.team_id)
    delivered = await slack.http.post(services.url("slack"), slack.event_request(event))
    assert delivered.status == 200 and delivered.elapsed < 3.0
    return event


async def test_two_workspaces_install_over_oauth_and_are_answered_with_their_own_tokens(tmp_path: Path) -> None:
    async with FakeSlack() as slack:
        alpha, beta = slack.add_workspace("T0ALPHA", "Alpha"), slack.add_workspace("T0BETA", "Beta")
        async with oauth_bot(tmp_path, slack) as (_, services):
            assert [await install(services, "T0ALPHA"), await install(services, "T0BETA")] == [200, 200]
            teams = installed_teams(tmp_path)
            in_alpha = await mention(slack, services, alpha, "C0ALPHA")
            in_beta = await mention(slack, services, beta, "C0BETA")
            await slack.wait_for(lambda: len(answers(slack)) == 2, timeout=15)

    assert teams == {"T0ALPHA", "T0BETA"}
    exchanges = slack.calls_to("oauth.v2.access")
    assert [c.response["team"]["id"] for c in exchanges] == ["T0ALPHA", "T0BETA"]
    assert all(c.params["client_id"] == slack.client_id and c.response["ok"] for c in exchanges)
    by_channel = {m.channel: m for m in answers(slack)}
    assert (by_channel["C0ALPHA"].token, by_channel["C0ALPHA"].thread_ts) == (alpha.bot_token, in_alpha["ts"])
    assert (by_channel["C0BETA"].token, by_channel["C0BETA"].thread_ts) == (beta.bot_token, in_beta["ts"])
    assert "3-day plan for Kyoto" in by_channel["C0ALPHA"].text
    tokens = {(m.channel, m.token) for m in slack.posted_messages + slack.updated_messages}
    assert tokens == {("C0ALPHA", alpha.bot_token), ("C0BETA", beta.bot_token)}  # status messages too


async def test_a_workspace_that_never_installed_gets_no_answer(tmp_path: Path) -> None:
    async with FakeSlack() as slack:
        alpha = slack.add_workspace("T0ALPHA", "Alpha")
        async with oauth_bot(tmp_path, slack) as (_, services):
            stranger = slack.workspaces[slack.team_id]  # known to Slack, never installed here
            event = slack.app_mention(REQUEST, channel="C0STRANGER", team=stranger.team_id)
            refused = await slack.http.post(services.url("slack"), slack.event_request(event))
            assert await install(services, "T0ALPHA") == 200
            await mention(slack, services, alpha, "C0ALPHA")
            await slack.wait_for(lambda: len(answers(slack)) == 1, timeout=15)
            await settled(tmp_path)  # a (wrong) answer to the stranger would have been sent by now

    assert refused.status == 200 and "reinstall" in refused.body  # Bolt: no retries, a hint, no work
    assert {m.channel for m in slack.posted_messages} == {"C0ALPHA"}


async def test_forged_expired_missing_and_replayed_states_are_refused(tmp_path: Path) -> None:
    async with FakeSlack() as slack, oauth_bot(tmp_path, slack, state_ttl_s=1) as (_, services), browser() as http:
        _, _, redirect = await start_install(http, services, slack.team_id)
        code = parse_qs(urlsplit(redirect).query)["code"][0]
        forged_url = f"{_base(services)}/slack/oauth_redirect?code={code}&state=forged"
        forged = await finish_install(http, forged_url, "slack-app-oauth-state=forged")
        no_cookie = await finish_install(http, redirect, None)

        _, cookie, redirect = await start_install(http, services, slack.team_id)
        await asyncio.sleep(1.2)  # past the state's 1 s lifetime
        expired = await finish_install(http, redirect, cookie)

        _, cookie, redirect = await start_install(http, services, slack.team_id)
        unused_code = parse_qs(urlsplit(redirect).query)["code"][0]
        ok = await finish_install(http, redirect, cookie)
        replayed = await finish_install(http, redirect.replace(unused_code, code), cookie)

    assert (forged, no_cookie, expired) == (401, 400, 401)
    assert (ok, replayed) == (200, 401)
    assert len(slack.calls_to("oauth.v2.access")) == 1  # only the valid state reached the token exchange
    assert installed_teams(tmp_path) == {slack.team_id}


async def test_an_installation_survives_a_restart(tmp_path: Path) -> None:
    async with FakeSlack() as slack:
        beta = slack.add_workspace("T0BETA", "Beta")
        async with oauth_bot(tmp_path, slack) as (_, services):
            assert await install(services, "T0BETA") == 200
        async with oauth_bot(tmp_path, slack) as (_, services):  # a new runtime on the same data dir
            event = await mention(slack, services, beta, "C0BETA")
            await slack.wait_for(lambda: len(answers(slack)) == 1, timeout=15)

    assert len(slack.calls_to("oauth.v2.access")) == 1
    answer = answers(slack)[0]
    assert (answer.channel, answer.thread_ts, answer.token) == ("C0BETA", event["ts"], beta.bot_token)
