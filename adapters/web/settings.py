"""The web page's settings (``TOURGUIDE_WEB_*``): where it listens and who may use it."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class WebSettings(BaseSettings):
    """Zero configuration serves 127.0.0.1:8080 to anyone who can reach it (that is, this machine)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore",
                                      populate_by_name=True)
    host: str = Field(default="127.0.0.1", validation_alias=AliasChoices("TOURGUIDE_WEB_HOST", "host"))
    port: int = Field(default=0, ge=0, le=65535, validation_alias=AliasChoices("TOURGUIDE_WEB_PORT", "port"))
    # Set for deployments: the page then asks for it once (``/?token=...``) and keeps it in a cookie.
    token: SecretStr = Field(default=SecretStr(""), validation_alias=AliasChoices("TOURGUIDE_WEB_TOKEN", "token"))
    # Whoever presents it sees every task's trace; without it a browser sees only its own tasks' traces.
    admin_token: SecretStr = Field(default=SecretStr(""),
                                   validation_alias=AliasChoices("TOURGUIDE_WEB_ADMIN_TOKEN", "admin_token"))
    rate_per_minute: int = Field(default=10, ge=1,
                                 validation_alias=AliasChoices("TOURGUIDE_WEB_RATE_PER_MINUTE", "rate_per_minute"))

    @property
    def configured(self) -> bool:
        """``tourguide bot`` serves the page too when a port is set (``tourguide web`` always does)."""
        return self.port > 0
