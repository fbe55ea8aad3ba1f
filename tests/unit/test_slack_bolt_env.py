"""The Slack adapter's Bolt app ignores SLACK_CLIENT_ID / SLACK_CLIENT_SECRET unless our settings turn OAuth on."""

from __future__ import annotations

import os

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.transport import bolt_app


async def test_client_credentials_in_the_environment_do_not_start_bolts_own_oauth(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLACK_CLIENT_ID", "111.222")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "shh")
    monkeypatch.setenv("HOME", "/nonexistent-home")  # Bolt's file installation store would live here

    app = bolt_app(AsyncWebClient(token="xoxb-single"), "signing-secret", None)

    assert app.oauth_flow is None and app.installation_store is None
    assert app.client.token == "xoxb-single"
    assert (os.environ["SLACK_CLIENT_ID"], os.environ["SLACK_CLIENT_SECRET"]) == ("111.222", "shh")  # restored
