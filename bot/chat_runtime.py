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
from zoneinfo import ZoneInfo

import httpx

from adapters.outbox_sender import OutboxSender, RetryPolicy
from bot.errors import ConfigError
from bot.runtime import Pipeline, pipeline
from bot.settings import Settings, load_settings

log = logging.getLogger("tourguide.bot")

HINT = """no chat platform is configured. Set the variables of at least one:
  Slack, Socket Mode (no public URL):  SLACK_BOT_TOKEN=xoxb-...  SLACK_APP_TOKEN=xapp-...
  Slack, HTTP mode (POST /slack/events): SLACK_BOT_TOKEN=xoxb-...  SLACK_SIGNING_SECRET=...
                                       [TOURGUIDE_SLACK_HTTP_PORT=3000]
  DingTalk, Stream mode:               DINGTALK_CLIENT_ID=...  DINGTALK_CLIENT_SECRET=...
                                       [DINGTALK_ROBOT_CODE=... if it differs from the client ID]
Try `tourguide chat` for the terminal front end, which needs none of these."""


@dataclass
class ChatServices:
    """What is running: the platforms, their outbox senders, and the Slack HTTP URL in HTTP mode."""

    platforms: list[str] = field(default_factory=list)
    senders: dict[str, OutboxSender] = field(default_factory=dict)
    slack_url: str = ""


def configured_platforms(settings: Settings) -> list[str]:
    """The platforms whose credentials are set."""
    platforms = []
    if settings.slack_bot_token.get_secret_value():
        platforms.append("slack")
    if settings.dingtalk_client_id and settings.dingtalk_client_secret.get_secret_value():
        platforms.append("dingtalk")
    return platforms


def slack_mode(settings: Settings) -> str:
    """``socket`` or ``http``; raises ConfigError when the chosen mode lacks its secret."""
    mode = settings.slack_mode
    if mode == "auto":
        mode = "socket" if settings.slack_app_token.get_secret_value() else "http"
    if mode == "socket" and not settings.slack_app_token.get_secret_value():
        raise ConfigError("Slack Socket Mode needs SLACK_APP_TOKEN (xapp-...)")
    if mode == "http" and not settings.slack_signing_secret.get_secret_value():
        raise ConfigError("Slack needs SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode)")
    if mode not in ("socket", "http"):
        raise ConfigError(f"TOURGUIDE_SLACK_MODE must be auto, socket or http, not {mode!r}")
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
    client = web_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_url)
    adapter = SlackAdapter(p, client, settings.slack_signing_secret.get_secret_value())
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
    log.info("Slack adapter running (%s mode)", mode)


async def _dingtalk(stack: contextlib.AsyncExitStack, settings: Settings, p: Pipeline, policy: RetryPolicy,
                    services: ChatServices, window_s: float) -> None:
    from adapters.dingtalk import DingTalkAdapter
    from adapters.dingtalk_sender import ConversationLimiter, DingTalkSender

    http = await stack.enter_async_context(httpx.AsyncClient(timeout=15.0))
    secret = settings.dingtalk_client_secret.get_secret_value()
    sender = DingTalkSender(http, endpoint=settings.dingtalk_openapi_endpoint, client_id=settings.dingtalk_client_id,
                            client_secret=secret, robot_code=settings.dingtalk_robot_code,
                            limiter=ConversationLimiter(settings.dingtalk_rate_per_minute, window_s))
    adapter = DingTalkAdapter(p, sender)
    outbox_sender = await stack.enter_async_context(OutboxSender("dingtalk", p.outbox, adapter.deliver, policy))
    services.senders["dingtalk"] = outbox_sender
    adapter.after_submit = outbox_sender.wake
    p.supervisor.add_listener(outbox_sender.on_progress)
    thread, handler = adapter.stream(settings.dingtalk_client_id, secret, settings.dingtalk_openapi_endpoint)
    stack.callback(handler.async_executor.shutdown, wait=False)
    await stack.enter_async_context(thread)
    log.info("DingTalk adapter running (Stream mode)")


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
        where = f" (Slack events at {services.slack_url})" if services.slack_url else ""
        print(f"tourguide bot ready: {', '.join(services.platforms)}{where}", flush=True)
        await wait_for_stop_signal()
    return 0
