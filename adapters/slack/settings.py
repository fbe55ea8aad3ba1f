"""Slack's settings: the SDK's own variable names where one exists, else ``TOURGUIDE_SLACK_*``.

Modes are checked when the settings are loaded (an unknown mode, or a mode without its secret, is a
ConfigError at start-up naming the variable), and only when Slack is configured at all.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SlackSettings(BaseSettings):
    """Single workspace (a bot token) or many (OAuth installs); Socket Mode or HTTP events."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore",
                                      populate_by_name=True)

    bot_token: SecretStr = Field(default=SecretStr(""), validation_alias=AliasChoices("SLACK_BOT_TOKEN"))
    app_token: SecretStr = Field(default=SecretStr(""), validation_alias=AliasChoices("SLACK_APP_TOKEN"))
    signing_secret: SecretStr = Field(default=SecretStr(""), validation_alias=AliasChoices("SLACK_SIGNING_SECRET"))
    api_url: str = Field(default="https://slack.com/api/", validation_alias=AliasChoices("SLACK_API_URL"))
    mode: Literal["auto", "socket", "http"] = Field(default="auto",
                                                    validation_alias=AliasChoices("TOURGUIDE_SLACK_MODE"))
    http_host: str = Field(default="0.0.0.0", validation_alias=AliasChoices("TOURGUIDE_SLACK_HTTP_HOST"))
    http_port: int = Field(default=3000, ge=0, validation_alias=AliasChoices("TOURGUIDE_SLACK_HTTP_PORT"))
    # --- OAuth (multi-workspace): on when client ID and secret are set, unless TOURGUIDE_SLACK_OAUTH=off
    client_id: str = Field(default="", validation_alias=AliasChoices("SLACK_CLIENT_ID"))
    client_secret: SecretStr = Field(default=SecretStr(""), validation_alias=AliasChoices("SLACK_CLIENT_SECRET"))
    scopes: str = Field(
        # *:history lets a restarted bot read a thread before re-posting an answer that may be out already;
        # assistant:write the assistant threads (status, title, suggested prompts)
        default="app_mentions:read,assistant:write,channels:history,chat:write,commands,groups:history,im:history,"
                "im:read,im:write",
        validation_alias=AliasChoices("SLACK_SCOPES"),
    )
    redirect_uri: str = Field(default="", validation_alias=AliasChoices("SLACK_REDIRECT_URI"))  # empty = app config
    oauth: Literal["auto", "on", "off"] = Field(default="auto", validation_alias=AliasChoices("TOURGUIDE_SLACK_OAUTH"))
    oauth_state_ttl_s: int = Field(default=600, ge=1, validation_alias=AliasChoices("TOURGUIDE_SLACK_OAUTH_STATE_TTL"))
    # Fernet key that encrypts each workspace's stored installation (bot token) at rest; empty = clear text
    token_key: SecretStr = Field(default=SecretStr(""), validation_alias=AliasChoices("TOURGUIDE_SLACK_TOKEN_KEY"))
    # an open answer stream gets an update at least this often: Slack ends a stream after an inactivity gap
    stream_keepalive_s: float = Field(default=20.0, gt=0,
                                      validation_alias=AliasChoices("TOURGUIDE_SLACK_STREAM_KEEPALIVE"))

    @property
    def oauth_on(self) -> bool:
        """Slack runs multi-workspace over OAuth installs."""
        credentials = bool(self.client_id and self.client_secret.get_secret_value())
        return credentials if self.oauth == "auto" else self.oauth == "on"

    @property
    def configured(self) -> bool:
        """A bot token or OAuth installs: ``tourguide bot`` runs Slack."""
        return bool(self.bot_token.get_secret_value()) or self.oauth_on

    @property
    def serving(self) -> Literal["socket", "http"]:
        """How events arrive: Socket Mode when an app token is set (and no OAuth), else HTTP."""
        if self.mode != "auto":
            return self.mode
        return "socket" if self.app_token.get_secret_value() and not self.oauth_on else "http"

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if not self.configured:
            return self
        if self.oauth == "on" and not (self.client_id and self.client_secret.get_secret_value()):
            raise ValueError("TOURGUIDE_SLACK_OAUTH=on needs SLACK_CLIENT_ID and SLACK_CLIENT_SECRET")
        if self.serving == "socket" and self.oauth_on:  # installs need /slack/install on a public URL
            raise ValueError("Slack OAuth (SLACK_CLIENT_ID) needs HTTP mode: unset SLACK_APP_TOKEN or set "
                             "TOURGUIDE_SLACK_MODE=http")
        if self.serving == "socket" and not self.app_token.get_secret_value():
            raise ValueError("Slack Socket Mode needs SLACK_APP_TOKEN (xapp-...)")
        if self.serving == "http" and not self.signing_secret.get_secret_value():
            raise ValueError("Slack needs SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode)")
        return self
