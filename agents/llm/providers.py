"""The LLM providers by name: which one a configuration selects, and how to open it.

A provider is one entry in :data:`PROVIDERS` (its ``TOURGUIDE_LLM_PROVIDER`` name, when its settings are
present, and a factory for its :class:`ChatModel`). ``auto`` takes the first configured entry, so the
order is the order of preference. None configured means the offline planner.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from pydantic import SecretStr

from agents.llm.bailian import BailianChat
from agents.llm.base import ChatModel
from agents.llm.budget import BudgetSettings, budget_retry, budgeted
from agents.llm.dashscope import BailianApp, DashScopeChat
from agents.llm.openai_compat import OpenAICompatChat
from bot.retry import RetryPolicy


class LLMSettings(BudgetSettings, Protocol):
    """The settings the providers read (``bot.settings.Settings`` has them)."""

    @property
    def llm_provider(self) -> str: ...
    @property
    def dashscope_api_key(self) -> SecretStr: ...
    @property
    def dashscope_base_url(self) -> str: ...
    @property
    def dashscope_model(self) -> str: ...
    @property
    def openai_base_url(self) -> str: ...
    @property
    def openai_api_key(self) -> SecretStr: ...
    @property
    def openai_model(self) -> str: ...
    @property
    def llm_timeout_s(self) -> float: ...
    @property
    def llm_max_attempts(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Provider:
    """One LLM provider: ``configured(settings, app_id)`` and ``open(settings, app_id, retry)``."""

    name: str  # the TOURGUIDE_LLM_PROVIDER value that selects it
    configured: Callable[[LLMSettings, str], bool]
    open: Callable[[LLMSettings, str, RetryPolicy], AbstractAsyncContextManager[ChatModel]]


@contextlib.asynccontextmanager
async def _bailian(settings: LLMSettings, app_id: str, retry: RetryPolicy) -> AsyncIterator[ChatModel]:
    async with BailianApp(settings.dashscope_api_key.get_secret_value(), app_id, settings.dashscope_base_url,
                          timeout_s=settings.llm_timeout_s, retry=retry) as app:
        yield BailianChat(app)


def _dashscope(settings: LLMSettings, _app_id: str, retry: RetryPolicy) -> AbstractAsyncContextManager[ChatModel]:
    return DashScopeChat(settings.dashscope_api_key.get_secret_value(), settings.dashscope_model,
                         settings.dashscope_base_url, timeout_s=settings.llm_timeout_s, retry=retry)


def _openai(settings: LLMSettings, _app_id: str, retry: RetryPolicy) -> AbstractAsyncContextManager[ChatModel]:
    return OpenAICompatChat(settings.openai_base_url, settings.openai_api_key.get_secret_value(),
                            settings.openai_model, timeout_s=settings.llm_timeout_s, retry=retry)


PROVIDERS: tuple[Provider, ...] = (
    # a Bailian app by ID (an agent's own app) is DashScope too, and wins when the agent has one
    Provider("dashscope", lambda s, app_id: bool(s.dashscope_api_key.get_secret_value() and app_id), _bailian),
    Provider("dashscope", lambda s, _app_id: bool(s.dashscope_api_key.get_secret_value()), _dashscope),
    Provider("openai", lambda s, _app_id: bool(s.openai_base_url), _openai),
)


@contextlib.asynccontextmanager
async def chat_model(settings: LLMSettings, app_id: str = "", *, agent: str = "supervisor",
                     ) -> AsyncIterator[ChatModel | None]:
    """The selected LLM (``app_id``: the agent's Bailian app, if it has one), or None: the offline planner.

    It spends ``agent``'s model budget (``TOURGUIDE_LLM_RPM`` / ``_TPM``, :mod:`agents.llm.budget`).
    """
    chosen = settings.llm_provider
    for provider in PROVIDERS:
        if chosen in ("auto", provider.name) and provider.configured(settings, app_id):
            retry = budget_retry(settings, RetryPolicy(max_attempts=settings.llm_max_attempts))
            async with provider.open(settings, app_id, retry) as model:
                yield budgeted(model, settings, agent)
            return
    yield None
