"""DingTalk: one folder for the adapter (Stream mode and HTTP callbacks), its sender, its progress card
and its settings. The wiring registers :data:`PLATFORM`."""

from __future__ import annotations

from functools import partial

from adapters.dingtalk.adapter import DingTalkAdapter
from adapters.dingtalk.settings import DingTalkSettings
from bot.ports import Platform
from bot.settings import load

HINT = """  DingTalk, Stream mode:               DINGTALK_CLIENT_ID=...  DINGTALK_CLIENT_SECRET=...
                                       [DINGTALK_ROBOT_CODE=... if it differs from the client ID]
  DingTalk, HTTP callbacks:            the same, plus TOURGUIDE_DINGTALK_HTTP_PORT=... (POST /dingtalk/callback)"""


def _configured(settings: DingTalkSettings) -> bool:
    return settings.configured


PLATFORM: Platform[DingTalkSettings] = Platform(partial(load, DingTalkSettings), _configured, DingTalkAdapter, HINT)

__all__ = ["PLATFORM", "DingTalkAdapter", "DingTalkSettings"]
