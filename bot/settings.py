"""The core's settings, read once from the environment (and an optional ``.env``) by the command line.

Each SDK's own variable name is used where one exists (``SLACK_BOT_TOKEN``, ``DASHSCOPE_API_KEY``,
``DINGTALK_OPENAPI_ENDPOINT`` ...); everything else is prefixed ``TOURGUIDE_``. Secrets are
``SecretStr`` so they never show in ``repr`` or logs. Invalid values are reported all at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, TypeVar

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigError

AnySettings = TypeVar("AnySettings", bound=BaseSettings)


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class Settings(BaseSettings):
    """Every knob of tourguide; defaults give a zero-configuration local run."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    # --- where state lives
    data_dir: Path = Field(default=Path(".tourguide"), validation_alias=_env("TOURGUIDE_DATA_DIR"))

    # --- RocketMQ: empty endpoint = start/use the embedded broker
    rocketmq_endpoint: str = Field(default="", validation_alias=_env("TOURGUIDE_ROCKETMQ_ENDPOINT"))
    rocketmq_access_key: str = Field(default="", validation_alias=_env("TOURGUIDE_ROCKETMQ_ACCESS_KEY"))
    rocketmq_secret_key: SecretStr = Field(
        default=SecretStr(""), validation_alias=_env("TOURGUIDE_ROCKETMQ_SECRET_KEY")
    )
    rocketmq_namespace: str = Field(default="", validation_alias=_env("TOURGUIDE_ROCKETMQ_NAMESPACE"))

    # --- time zone used to resolve "下周三", "next weekend"
    timezone: str = Field(default="Asia/Shanghai", validation_alias=_env("TOURGUIDE_TIMEZONE"))

    # --- LLM providers (none configured = offline planner)
    llm_provider: Literal["auto", "dashscope", "openai", "offline"] = Field(
        default="auto", validation_alias=_env("TOURGUIDE_LLM_PROVIDER")
    )
    dashscope_api_key: SecretStr = Field(default=SecretStr(""), validation_alias=_env("DASHSCOPE_API_KEY"))
    dashscope_base_url: str = Field(
        default="https://dashscope.aliyuncs.com/api/v1",
        validation_alias=_env("DASHSCOPE_HTTP_BASE_URL", "TOURGUIDE_DASHSCOPE_BASE_URL"),
    )
    dashscope_model: str = Field(default="qwen-plus", validation_alias=_env("TOURGUIDE_DASHSCOPE_MODEL"))
    bailian_travel_app_id: str = Field(default="", validation_alias=_env("TOURGUIDE_BAILIAN_TRAVEL_APP_ID"))
    openai_base_url: str = Field(default="", validation_alias=_env("OPENAI_BASE_URL", "TOURGUIDE_OPENAI_BASE_URL"))
    openai_api_key: SecretStr = Field(default=SecretStr(""), validation_alias=_env("OPENAI_API_KEY"))
    openai_model: str = Field(default="qwen-plus", validation_alias=_env("TOURGUIDE_OPENAI_MODEL"))
    llm_timeout_s: float = Field(default=60.0, gt=0, validation_alias=_env("TOURGUIDE_LLM_TIMEOUT"))
    llm_max_attempts: int = Field(default=4, ge=1, le=10, validation_alias=_env("TOURGUIDE_LLM_MAX_ATTEMPTS"))

    # --- weather (empty = offline climate normals only)
    weather_online: bool = Field(default=False, validation_alias=_env("TOURGUIDE_WEATHER_ONLINE"))
    open_meteo_forecast_url: str = Field(
        default="https://api.open-meteo.com/v1/forecast",
        validation_alias=_env("TOURGUIDE_OPEN_METEO_FORECAST_URL"),
    )
    open_meteo_geocoding_url: str = Field(
        default="https://geocoding-api.open-meteo.com/v1/search",
        validation_alias=_env("TOURGUIDE_OPEN_METEO_GEOCODING_URL"),
    )
    open_meteo_climate_url: str = Field(
        default="https://climate-api.open-meteo.com/v1/climate",
        validation_alias=_env("TOURGUIDE_OPEN_METEO_CLIMATE_URL"),
    )

    # --- chat platforms: each reads its own settings class (adapters/slack/settings.py,
    # adapters/dingtalk/settings.py), with the variable names the README lists

    # --- reply outbox delivery
    outbox_max_attempts: int = Field(default=8, ge=1, validation_alias=_env("TOURGUIDE_OUTBOX_MAX_ATTEMPTS"))

    # --- retention: finished requests (sessions, steps, traces, inbound events, sent answers) older than this
    # are deleted in the background and the space reclaimed; 0 keeps everything
    retention_days: float = Field(default=30.0, ge=0, validation_alias=_env("TOURGUIDE_RETENTION_DAYS"))

    # --- limits
    max_request_chars: int = Field(default=2000, ge=1, validation_alias=_env("TOURGUIDE_MAX_REQUEST_CHARS"))
    user_rate_per_minute: int = Field(default=6, ge=1, validation_alias=_env("TOURGUIDE_USER_RATE_PER_MINUTE"))
    step_timeout_s: float = Field(default=180.0, gt=0, validation_alias=_env("TOURGUIDE_STEP_TIMEOUT"))
    # a step out longer than this is shown to the user as "slower than usual, still working" (LLM retries)
    slow_step_notice_s: float = Field(default=30.0, gt=0, validation_alias=_env("TOURGUIDE_SLOW_STEP_NOTICE"))
    agent_concurrency: int = Field(default=4, ge=1, le=64, validation_alias=_env("TOURGUIDE_AGENT_CONCURRENCY"))

    # --- scarce model capacity: priorities, model budgets (docs in README "Operations")
    # key=level list or JSON object; parsed and checked at load (agents/supervisor/priority.py)
    priority_rules: str = Field(default="", validation_alias=_env("TOURGUIDE_PRIORITY_RULES"))
    # model requests / tokens per minute for ONE agent type across all its processes; 0 = no budget
    llm_rpm: int = Field(default=0, ge=0, validation_alias=_env("TOURGUIDE_LLM_RPM"))
    llm_tpm: int = Field(default=0, ge=0, validation_alias=_env("TOURGUIDE_LLM_TPM"))
    # processes of one agent type: each one spends budget / processes
    llm_processes: int = Field(default=1, ge=1, validation_alias=_env("TOURGUIDE_LLM_PROCESSES"))
    llm_budget_window_s: float = Field(default=60.0, gt=0, validation_alias=_env("TOURGUIDE_LLM_BUDGET_WINDOW"))

    # --- operations: Prometheus endpoint (0 = off) and Apache RocketMQ's NameServer for `tourguide status`
    metrics_port: int = Field(default=0, ge=0, le=65535, validation_alias=_env("TOURGUIDE_METRICS_PORT"))
    metrics_host: str = Field(default="127.0.0.1", validation_alias=_env("TOURGUIDE_METRICS_HOST"))  # 0.0.0.0: all
    rocketmq_namesrv: str = Field(default="", validation_alias=_env("TOURGUIDE_ROCKETMQ_NAMESRV"))

    @field_validator("priority_rules")
    @classmethod
    def _rules_parse(cls, value: str) -> str:
        from agents.supervisor.priority import parse_rules

        parse_rules(value)  # a ValueError is reported with the other invalid settings
        return value


def load_settings(**overrides: object) -> Settings:
    """Read the core settings once; raises ConfigError naming every invalid variable."""
    return load(Settings, **overrides)


def load(cls: type[AnySettings], **overrides: object) -> AnySettings:
    """Read a settings class (the core's, a chat platform's) from the environment and ``.env``; raises
    ConfigError naming every invalid variable."""
    try:
        return cls(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(f"invalid settings: {', '.join(_problem(err) for err in exc.errors())}") from exc


def _problem(err: ErrorDetails) -> str:
    """One invalid value as the user set it: the variable and what is wrong, or a rule across variables."""
    where = ".".join(str(p) for p in err["loc"])
    cause = (err.get("ctx") or {}).get("error")
    what = str(cause) if err["type"] == "value_error" and cause is not None else err["msg"]
    return f"{where} ({what})" if where else what
