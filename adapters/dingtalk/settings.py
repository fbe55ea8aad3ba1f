"""DingTalk's settings: the SDK's own variable names where one exists, else ``TOURGUIDE_DINGTALK_*``."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

HTTP_PORT = 3001  # HTTP callback mode forced on without a port


class DingTalkSettings(BaseSettings):
    """A robot's credentials; Stream mode (WebSocket out) or HTTP callbacks (POST /dingtalk/callback)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore",
                                      populate_by_name=True)

    client_id: str = Field(default="", validation_alias=AliasChoices("DINGTALK_CLIENT_ID"))
    client_secret: SecretStr = Field(default=SecretStr(""), validation_alias=AliasChoices("DINGTALK_CLIENT_SECRET"))
    openapi_endpoint: str = Field(default="https://api.dingtalk.com",
                                  validation_alias=AliasChoices("DINGTALK_OPENAPI_ENDPOINT"))
    card_template_id: str = Field(default="", validation_alias=AliasChoices("DINGTALK_CARD_TEMPLATE_ID"))
    robot_code: str = Field(default="", validation_alias=AliasChoices("DINGTALK_ROBOT_CODE"))  # empty = client ID
    rate_per_minute: int = Field(default=20, ge=1, validation_alias=AliasChoices("TOURGUIDE_DINGTALK_RATE_PER_MINUTE"))
    # the window of that limit: DingTalk's is a minute; a stand-in may use a shorter one
    rate_window_s: float = Field(default=60.0, gt=0, validation_alias=AliasChoices("TOURGUIDE_DINGTALK_RATE_WINDOW"))
    # AI cards: the bot-wide budget of card API calls a second (keep it below the app's QPS limit for the
    # card APIs, 20 by default) and the shortest gap between two updates of one card
    card_qps: float = Field(default=10.0, gt=0, validation_alias=AliasChoices("TOURGUIDE_DINGTALK_CARD_QPS"))
    card_interval_s: float = Field(default=0.3, gt=0,
                                   validation_alias=AliasChoices("TOURGUIDE_DINGTALK_CARD_INTERVAL"))
    mode: Literal["auto", "stream", "http"] = Field(default="auto",
                                                    validation_alias=AliasChoices("TOURGUIDE_DINGTALK_MODE"))
    http_host: str = Field(default="0.0.0.0", validation_alias=AliasChoices("TOURGUIDE_DINGTALK_HTTP_HOST"))
    # auto mode picks HTTP callbacks when this port is set, else Stream mode
    http_port: int | None = Field(default=None, ge=0, validation_alias=AliasChoices("TOURGUIDE_DINGTALK_HTTP_PORT"))

    @property
    def configured(self) -> bool:
        """The robot's credentials are set: ``tourguide bot`` runs DingTalk."""
        return bool(self.client_id and self.client_secret.get_secret_value())

    @property
    def serving(self) -> Literal["stream", "http"]:
        """How messages arrive: HTTP callbacks when chosen (or a port is set), else Stream mode."""
        if self.mode != "auto":
            return self.mode
        return "stream" if self.http_port is None else "http"

    @property
    def callback_port(self) -> int:
        """The HTTP callback port (a default when HTTP mode is chosen without one)."""
        return HTTP_PORT if self.http_port is None else self.http_port
