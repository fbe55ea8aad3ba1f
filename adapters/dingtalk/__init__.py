"""DingTalk: one folder for the adapter (Stream mode and HTTP callbacks), its sender, its progress card
and its settings. The wiring registers :data:`PLATFORM`."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from adapters.dingtalk.settings import DingTalkSettings
from bot.ports import Platform, Requests
from bot.settings import load

if TYPE_CHECKING:
    from adapters.dingtalk.adapter import DingTalkAdapter

HINT = """  DingTalk, Stream mode:               DINGTALK_CLIENT_ID=...  DINGTALK_CLIENT_SECRET=...
                                       [DINGTALK_ROBOT_CODE=... if it differs from the client ID]
  DingTalk, HTTP callbacks:            the same, plus TOURGUIDE_DINGTALK_HTTP_PORT=... (POST /dingtalk/callback)"""


def _configured(settings: DingTalkSettings) -> bool:
    return settings.configured


def _build(settings: DingTalkSettings, requests: Requests, data_dir: Path) -> DingTalkAdapter:
    # Imported when built, so processes that run no DingTalk (agents, the terminal) never load its SDK.
    from adapters.dingtalk.adapter import DingTalkAdapter

    return DingTalkAdapter(settings, requests, data_dir)


PLATFORM: Platform[DingTalkSettings] = Platform(partial(load, DingTalkSettings), _configured, _build, HINT)

__all__ = ["PLATFORM", "DingTalkSettings"]
