"""Each chat platform reads its own settings class, with the variable names the README lists, and its
modes are checked when the settings are loaded."""

from __future__ import annotations

import pytest

from adapters.dingtalk import DingTalkSettings
from adapters.slack import SlackSettings
from bot.errors import ConfigError
from bot.settings import load
from bot.wiring import PLATFORMS, configured_platforms

PLATFORM_VARIABLES = (
    "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET",
    "TOURGUIDE_SLACK_MODE", "TOURGUIDE_SLACK_OAUTH", "DINGTALK_CLIENT_ID", "DINGTALK_CLIENT_SECRET",
    "TOURGUIDE_DINGTALK_MODE", "TOURGUIDE_DINGTALK_HTTP_PORT", "TOURGUIDE_WEB_PORT",
)


@pytest.fixture(autouse=True)
def _no_platform_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PLATFORM_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_the_readme_variables_reach_the_platform_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s3cret")
    monkeypatch.setenv("TOURGUIDE_SLACK_HTTP_PORT", "3100")
    monkeypatch.setenv("DINGTALK_CLIENT_ID", "ding-id")
    monkeypatch.setenv("DINGTALK_CLIENT_SECRET", "ding-secret")
    monkeypatch.setenv("TOURGUIDE_DINGTALK_HTTP_PORT", "3200")
    slack, dingtalk = load(SlackSettings), load(DingTalkSettings)
    assert slack.bot_token.get_secret_value() == "xoxb-1" and slack.http_port == 3100
    assert slack.configured and slack.serving == "http"  # no app token: HTTP mode
    assert dingtalk.configured and dingtalk.serving == "http" and dingtalk.callback_port == 3200
    assert configured_platforms({"slack": slack, "dingtalk": dingtalk}) == ["slack", "dingtalk"]


def test_an_unknown_mode_is_refused_at_load_naming_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOURGUIDE_SLACK_MODE", "sockets")
    with pytest.raises(ConfigError, match="TOURGUIDE_SLACK_MODE"):
        load(SlackSettings)
    monkeypatch.setenv("TOURGUIDE_DINGTALK_MODE", "websocket")
    with pytest.raises(ConfigError, match="TOURGUIDE_DINGTALK_MODE"):
        load(DingTalkSettings)


def test_a_configured_slack_needs_the_secret_of_its_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        load(SlackSettings)
    monkeypatch.setenv("TOURGUIDE_SLACK_MODE", "socket")
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN"):
        load(SlackSettings)
    monkeypatch.setenv("SLACK_CLIENT_ID", "cid")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "csecret")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1")
    with pytest.raises(ConfigError, match="OAuth"):  # installs need HTTP mode
        load(SlackSettings)


def test_nothing_set_is_not_configured_and_not_an_error() -> None:
    loaded = {name: platform.load() for name, platform in PLATFORMS.items()}
    assert configured_platforms(loaded) == []
