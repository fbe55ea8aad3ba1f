"""``tourguide bot``: the pipeline plus every chat adapter whose credentials are configured.

Part of the composition root. For each platform it wires: the adapter (events in), its outbox sender
(answers out, woken when a session finishes and right after a direct answer), and the Supervisor
progress listener. Everything is owned by one ``AsyncExitStack`` and closed in reverse order.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import httpx

from adapters.outbox_sender import OutboxSender, RetryPolicy
from bot.errors import ConfigError
from bot.runtime import Pipeline, pipeline
from bot.settings import Settings, load_settings

if TYPE_CHECKING:
    from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings

    from adapters.dingtalk_progress import ProgressCards
    from adapters.dingtalk_sender import DingTalkSender
    from adapters.slack_workspaces import WorkspaceClients

log = logging.getLogger("tourguide.bot")

DINGTALK_HTTP_PORT = 3001  # HTTP callback mode forced on without a port

HINT = """no chat platform is configured. Set the variables of at least one:
  Slack, Socket Mode (no public URL):  SLACK_BOT_TOKEN=xoxb-...  SLACK_APP_TOKEN=xapp-...
  Slack, HTTP mode (POST /slack/events): SLACK_BOT_TOKEN=xoxb-...  SLACK_SIGNING_SECRET=...
                                       [TOURGUIDE_SLACK_HTTP_PORT=3000]
  Slack, many workspaces (OAuth):      SLACK_CLIENT_ID=...  SLACK_CLIENT_SECRET=...  SLACK_SIGNING_SECRET=...
                                       (HTTP mode; install at /slack/install)
  DingTalk, Stream mode:               DINGTALK_CLIENT_ID=...  DINGTALK_CLIENT_SECRET=...
                                       [DINGTALK_ROBOT_CODE=... if it differs from the client ID]
  DingTalk, HTTP callbacks:            the same, plus TOURGUIDE_DINGTALK_HTTP_PORT=... (POST /dingtalk/callback)
Try `tourguide chat` for the terminal front end, which needs none of these."""


@dataclass
class ChatServices:
    """What is running: the platforms, their outbox senders, and the URLs served in HTTP modes."""

    platforms: list[str] = field(default_factory=list)
    senders: dict[str, OutboxSender] = field(default_factory=dict)
    slack_url: str = ""
    dingtalk_url: str = ""


def configured_platforms(settings: Settings) -> list[str]:
    """The platforms whose credentials are set."""
    platforms = []
    if settings.slack_bot_token.get_secret_value() or slack_oauth_on(settings):
        platforms.append("slack")
    if settings.dingtalk_client_id and settings.dingtalk_client_secret.get_secret_value():
        platforms.append("dingtalk")
    return platforms


def slack_oauth_on(settings: Settings) -> bool:
    """Whether Slack runs multi-workspace over OAuth; raises ConfigError for a bad TOURGUIDE_SLACK_OAUTH."""
    mode = settings.slack_oauth
    credentials = bool(settings.slack_client_id and settings.slack_client_secret.get_secret_value())
    if mode not in ("auto", "on", "off"):
        raise ConfigError(f"TOURGUIDE_SLACK_OAUTH must be auto, on or off, not {mode!r}")
    if mode == "on" and not credentials:
        raise ConfigError("TOURGUIDE_SLACK_OAUTH=on needs SLACK_CLIENT_ID and SLACK_CLIENT_SECRET")
    return credentials if mode == "auto" else mode == "on"


def slack_mode(settings: Settings) -> str:
    """``socket`` or ``http``; raises ConfigError when the chosen mode lacks its secret."""
    mode = settings.slack_mode
    oauth = slack_oauth_on(settings)
    if mode == "auto":
        mode = "socket" if settings.slack_app_token.get_secret_value() and not oauth else "http"
    if mode == "socket" and oauth:  # installs need /slack/install and /slack/oauth_redirect on a public URL
        raise ConfigError("Slack OAuth (SLACK_CLIENT_ID) needs HTTP mode: unset SLACK_APP_TOKEN or set "
                          "TOURGUIDE_SLACK_MODE=http")
    if mode == "socket" and not settings.slack_app_token.get_secret_value():
        raise ConfigError("Slack Socket Mode needs SLACK_APP_TOKEN (xapp-...)")
    if mode == "http" and not settings.slack_signing_secret.get_secret_value():
        raise ConfigError("Slack needs SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode)")
    if mode not in ("socket", "http"):
        raise ConfigError(f"TOURGUIDE_SLACK_MODE must be auto, socket or http, not {mode!r}")
    return mode


def dingtalk_mode(settings: Settings) -> str:
    """``stream`` or ``http`` (callbacks); auto picks HTTP when TOURGUIDE_DINGTALK_HTTP_PORT is set."""
    mode = settings.dingtalk_mode
    if mode == "auto":
        mode = "stream" if settings.dingtalk_http_port is None else "http"
    if mode not in ("stream", "http"):
        raise ConfigError(f"TOURGUIDE_DINGTALK_MODE must be auto, stream or http, not {mode!r}")
    return mode


@contextlib.asynccontextmanager
async def chat_services(settings: Settings, p: Pipeline, *, retry: RetryPolicy | None = None,
                        dingtalk_window_s: float = 60.0) -> AsyncIterator[ChatServices]:
    """Run the configured adapters and their outbox senders on ``p`` until the block exits."""
    policy = retry or RetryPolicy(max_attempts=settings.outbox_max_attempts)
    services = ChatServices(platforms=configured_platforms(settings))
    async with contextlib.AsyncExitStack() as stack:
        if "slack" in services.platforms:
            await _slack(stack, settings, p, policy, services)
        if "dingtalk" in services.platforms:
            await _dingtalk(stack, settings, p, policy, services, dingtalk_window_s)
        yield services


async def _slack(stack: contextlib.AsyncExitStack, settings: Settings, p: Pipeline, policy: RetryPolicy,
                 services: ChatServices) -> None:
    from adapters.slack import SlackAdapter, http_mode, socket_mode, web_client

    mode = slack_mode(settings)
    oauth, clients = await _slack_oauth(stack, settings) if slack_oauth_on(settings) else (None, None)
    token = None if oauth else settings.slack_bot_token.get_secret_value()  # OAuth: a token per workspace
    client = web_client(token, settings.slack_api_url)
    adapter = SlackAdapter(p, client, settings.slack_signing_secret.get_secret_value(), oauth=oauth, clients=clients)
    stack.push_async_callback(adapter.aclose)
    sender = await stack.enter_async_context(OutboxSender("slack", p.outbox, adapter.deliver, policy))
    services.senders["slack"] = sender
    adapter.after_submit = sender.wake
    p.supervisor.add_listener(adapter.on_progress)
    p.supervisor.add_listener(sender.on_progress)
    if mode == "socket":
        await stack.enter_async_context(socket_mode(adapter, settings.slack_app_token.get_secret_value()))
    else:
        services.slack_url = await stack.enter_async_context(
            http_mode(adapter, settings.slack_http_host, settings.slack_http_port))
    log.info("Slack adapter running (%s mode%s)", mode, ", OAuth installs" if oauth else "")


async def _slack_oauth(stack: contextlib.AsyncExitStack,
                       settings: Settings) -> tuple[AsyncOAuthSettings, WorkspaceClients]:
    """The installation and state stores (SQLite in the data dir), Bolt's OAuth settings on them, and the
    per-workspace clients for answers."""
    from adapters.slack_workspaces import InstalledWorkspaces, oauth_settings
    from storage.slack_installations import SlackOAuthStorage

    storage = await stack.enter_async_context(SlackOAuthStorage(
        settings.data_dir / "slack_installations.sqlite3", settings.slack_client_id,
        state_ttl_s=settings.slack_oauth_state_ttl_s, key=settings.slack_token_key.get_secret_value()))
    oauth = oauth_settings(
        client_id=settings.slack_client_id, client_secret=settings.slack_client_secret.get_secret_value(),
        scopes=[s.strip() for s in settings.slack_scopes.split(",") if s.strip()],
        redirect_uri=settings.slack_redirect_uri, api_url=settings.slack_api_url,
        installations=storage.installations, states=storage.states, state_ttl_s=settings.slack_oauth_state_ttl_s)
    return oauth, InstalledWorkspaces(settings.slack_api_url, storage.installations.bot_token_for_team)


async def _dingtalk(stack: contextlib.AsyncExitStack, settings: Settings, p: Pipeline, policy: RetryPolicy,
                    services: ChatServices, window_s: float) -> None:
    from adapters.dingtalk import DingTalkAdapter
    from adapters.dingtalk_sender import ConversationLimiter, DingTalkSender

    http = await stack.enter_async_context(httpx.AsyncClient(timeout=15.0))
    secret = settings.dingtalk_client_secret.get_secret_value()
    sender = DingTalkSender(http, endpoint=settings.dingtalk_openapi_endpoint, client_id=settings.dingtalk_client_id,
                            client_secret=secret, robot_code=settings.dingtalk_robot_code,
                            limiter=ConversationLimiter(settings.dingtalk_rate_per_minute, window_s))
    adapter = DingTalkAdapter(p, sender, await _dingtalk_cards(stack, settings, p, sender))
    outbox_sender = await stack.enter_async_context(OutboxSender("dingtalk", p.outbox, adapter.deliver, policy))
    services.senders["dingtalk"] = outbox_sender
    adapter.after_submit = outbox_sender.wake
    p.supervisor.add_listener(outbox_sender.on_progress)
    if dingtalk_mode(settings) == "http":
        from adapters.dingtalk_http import http_callback

        port = DINGTALK_HTTP_PORT if settings.dingtalk_http_port is None else settings.dingtalk_http_port
        services.dingtalk_url = await stack.enter_async_context(
            http_callback(adapter.on_message, secret, settings.dingtalk_http_host, port))
        log.info("DingTalk adapter running (HTTP callbacks at %s)", services.dingtalk_url)
        return
    thread, handler = adapter.stream(settings.dingtalk_client_id, secret, settings.dingtalk_openapi_endpoint)
    stack.callback(handler.async_executor.shutdown, wait=False)
    await stack.enter_async_context(thread)
    log.info("DingTalk adapter running (Stream mode)")


async def _dingtalk_cards(stack: contextlib.AsyncExitStack, settings: Settings, p: Pipeline,
                          sender: DingTalkSender) -> ProgressCards | None:
    """Progress as AI cards when DINGTALK_CARD_TEMPLATE_ID is set (closed before the HTTP client they use)."""
    if not settings.dingtalk_card_template_id:
        return None
    from adapters.dingtalk_card import CardApi
    from adapters.dingtalk_progress import ProgressCards

    cards = await stack.enter_async_context(
        ProgressCards(CardApi(sender, settings.dingtalk_card_template_id), p.sessions))
    p.supervisor.add_listener(cards.on_progress)
    return cards


async def run_bot(with_agents: bool) -> int:
    """``tourguide bot``: serve until SIGTERM / SIGINT; 2 with a hint when no platform is configured."""
    from bot.cli import wait_for_stop_signal

    settings = load_settings()
    if not configured_platforms(settings):
        print(f"tourguide bot: {HINT}", file=sys.stderr)
        return 2
    zone = ZoneInfo(settings.timezone)
    async with (
        pipeline(settings, agents="inline" if with_agents else "none", clock=lambda: datetime.now(zone)) as p,
        chat_services(settings, p) as services,
    ):
        urls = [f"Slack events at {services.slack_url}"] if services.slack_url else []
        urls += [f"DingTalk callbacks at {services.dingtalk_url}"] if services.dingtalk_url else []
        where = f" ({'; '.join(urls)})" if urls else ""
        print(f"tourguide bot ready: {', '.join(services.platforms)}{where}", flush=True)
        await wait_for_stop_signal()
    return 0
