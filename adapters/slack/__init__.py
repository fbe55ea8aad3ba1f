"""Slack: one folder for the adapter, its Block Kit and status texts, its workspaces and OAuth store,
and its settings. The wiring registers :data:`PLATFORM`."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from adapters.slack.settings import SlackSettings
from bot.ports import Platform, Requests
from bot.settings import load

if TYPE_CHECKING:
    from adapters.slack.adapter import FeedbackStore, SlackAdapter

HINT = """  Slack, Socket Mode (no public URL):  SLACK_BOT_TOKEN=xoxb-...  SLACK_APP_TOKEN=xapp-...
  Slack, HTTP mode (POST /slack/events): SLACK_BOT_TOKEN=xoxb-...  SLACK_SIGNING_SECRET=...
                                       [TOURGUIDE_SLACK_HTTP_PORT=3000]
  Slack, many workspaces (OAuth):      SLACK_CLIENT_ID=...  SLACK_CLIENT_SECRET=...  SLACK_SIGNING_SECRET=...
                                       (HTTP mode; install at /slack/install)"""


def _configured(settings: SlackSettings) -> bool:
    return settings.configured


def platform(feedback_store: FeedbackStore | None) -> Platform[SlackSettings]:
    """Slack as a registered platform whose feedback buttons are recorded in ``feedback_store(data_dir)``."""

    def build(settings: SlackSettings, requests: Requests, data_dir: Path) -> SlackAdapter:
        # Imported when built, so processes that run no Slack (agents, the terminal) never load Bolt.
        from adapters.slack.adapter import SlackAdapter

        return SlackAdapter(settings, requests, data_dir, feedback_store)

    return Platform(partial(load, SlackSettings), _configured, build, HINT)


PLATFORM: Platform[SlackSettings] = platform(None)  # without a feedback store (clicks are only logged)

__all__ = ["PLATFORM", "SlackSettings", "platform"]
