"""DashScope (Qwen / Bailian) through the official ``dashscope`` SDK (tested with 2.0.2).

Two SDK habits shape this module:

* 1.x-style calls do not raise on HTTP errors: a 429 comes back as a response with
  ``status_code=429``. Each attempt turns that into an :class:`AttemptFailed` for the retry loop.
* Without an explicit session the SDK keeps one process-global aiohttp session per loop and
  reads ``dashscope.base_http_api_url``. We pass ``base_address``, ``api_key`` and our own
  ``session`` on every call instead, so instances never share or leak state.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Self, cast

import aiohttp
import requests
from pydantic import BaseModel, ConfigDict

from agents.llm.base import ChatMessage, ChatResult, JsonSchema, TextSink, ToolSpec, Usage, response_format
from agents.llm.retry import AttemptFailed, Failure, parse_retry_after, with_retries
from agents.llm.wire import first_choice
from bot.retry import RetryPolicy

DEFAULT_BASE_URL = "https://dashscope.aliyuncs.com/api/v1"


class DashScopeChat:
    """A :class:`~agents.llm.base.ChatModel` over DashScope ``Generation`` (function calling on).

    Use as ``async with DashScopeChat(...) as chat``: it owns the aiohttp session it sends with.
    """

    def __init__(
        self,
        api_key: str,
        model: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout_s: float = 60.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._api_key = api_key
        self._model = model
        self._base_url = base_url
        self._timeout_s = timeout_s
        self._retry = retry or RetryPolicy()
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"DashScopeChat(model={self._model!r}, base_url={self._base_url!r})"

    async def __aenter__(self) -> Self:
        self._session = aiohttp.ClientSession(trust_env=True)  # proxies from env, as the SDK's own session
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def complete(
        self, messages: Sequence[ChatMessage], *, tools: Sequence[ToolSpec] = (), json_mode: bool = False,
        json_schema: JsonSchema | None = None,
    ) -> ChatResult:
        """Ask the model; raises RateLimited, ServiceTimeout, ConfigError or ExternalServiceError."""
        options = _options(messages, tools, json_mode, json_schema)
        response = await with_retries(
            lambda: self._attempt(options), self._retry, service="DashScope", secrets=(self._api_key,)
        )
        return self._result(response)

    async def complete_streaming(
        self, messages: Sequence[ChatMessage], *, on_text: TextSink, json_mode: bool = False,
        json_schema: JsonSchema | None = None,
    ) -> ChatResult:
        """Ask with ``stream`` and ``incremental_output`` (each event carries the new text only); ``on_text``
        gets the content so far after every event."""
        options = _options(messages, (), json_mode, json_schema) | {"stream": True, "incremental_output": True}
        return await with_retries(lambda: self._stream(options, on_text), self._retry, service="DashScope",
                                  secrets=(self._api_key,))

    async def _stream(self, options: Mapping[str, Any], on_text: TextSink) -> ChatResult:
        if self._session is None:
            raise RuntimeError("use DashScopeChat as `async with DashScopeChat(...) as chat`")
        text: list[str] = []
        finish, usage = "stop", dict[str, Any]()
        try:
            async with asyncio.timeout(self._timeout_s):
                from dashscope import AioGeneration  # the SDK loads on first use (see _attempt)

                events = await AioGeneration.call(model=self._model, api_key=self._api_key,
                                                  base_address=self._base_url, session=self._session,
                                                  request_timeout=self._timeout_s, **options)
                # the SDK's hints name the blocking generator; with stream=True AioGeneration yields async
                async for response in cast("AsyncIterator[Any]", events):
                    _raise_for_status(response)
                    usage = response.usage or usage
                    for choice in (response.output or {}).get("choices") or []:
                        finish = choice.get("finish_reason") if choice.get("finish_reason") not in (None, "null") \
                            else finish
                        delta = (choice.get("message") or {}).get("content")
                        if delta:
                            text.append(str(delta))
                            await on_text("".join(text))
        except TimeoutError as exc:
            raise AttemptFailed(Failure(None, "timeout", "no answer", timed_out=True)) from exc
        except aiohttp.ClientError as exc:
            raise AttemptFailed(Failure(None, "connection", type(exc).__name__)) from exc
        return ChatResult(content="".join(text), finish_reason=str(finish), model=self._model,
                          usage=Usage(input_tokens=usage.get("input_tokens", 0),
                                      output_tokens=usage.get("output_tokens", 0)))

    async def _attempt(self, options: Mapping[str, Any]) -> Any:
        if self._session is None:
            raise RuntimeError("use DashScopeChat as `async with DashScopeChat(...) as chat`")
        try:
            async with asyncio.timeout(self._timeout_s):
                # Imported on first use: the SDK takes about half a second to load, which every process that
                # never calls DashScope (the offline default, agents, the terminal) would pay at start.
                from dashscope import AioGeneration

                response = await AioGeneration.call(
                    model=self._model,
                    api_key=self._api_key,
                    base_address=self._base_url,
                    session=self._session,
                    request_timeout=self._timeout_s,
                    **options,
                )
        except TimeoutError as exc:
            raise AttemptFailed(Failure(None, "timeout", "no answer", timed_out=True)) from exc
        except aiohttp.ClientError as exc:
            raise AttemptFailed(Failure(None, "connection", type(exc).__name__)) from exc
        _raise_for_status(response)
        return response

    def _result(self, response: Any) -> ChatResult:
        choice = first_choice(response.output.get("choices"), "DashScope")
        usage = response.usage or {}
        return ChatResult(
            content=choice.message.text(),
            tool_calls=choice.message.calls(),
            finish_reason=choice.finish_reason or "stop",
            model=self._model,
            usage=Usage(input_tokens=usage.get("input_tokens", 0), output_tokens=usage.get("output_tokens", 0)),
        )


class AppReply(BaseModel):
    """What a Bailian application answered, with the session to continue the conversation."""

    model_config = ConfigDict(frozen=True)

    text: str
    session_id: str | None = None


class BailianApp:
    """A Bailian (DashScope) application, called by app ID through ``Application.call``.

    The SDK call is blocking (``requests``), so it runs in a worker thread. Use as
    ``async with BailianApp(...) as app``: it owns the ``requests.Session``.
    """

    def __init__(
        self,
        api_key: str,
        app_id: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout_s: float = 60.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._api_key = api_key
        self._app_id = app_id
        self._base_url = base_url
        self._timeout_s = timeout_s
        self._retry = retry or RetryPolicy()
        self._session: requests.Session | None = None

    def __repr__(self) -> str:
        return f"BailianApp(app_id={self._app_id!r}, base_url={self._base_url!r})"

    async def __aenter__(self) -> Self:
        self._session = requests.Session()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    async def ask(self, prompt: str, session_id: str | None = None) -> AppReply:
        """Send ``prompt`` (continuing ``session_id`` if given) and return the app's answer.

        Raises RateLimited, ServiceTimeout, ConfigError or ExternalServiceError.
        """
        service = f"Bailian app {self._app_id}"
        response = await with_retries(
            lambda: asyncio.to_thread(self._attempt, prompt, session_id),
            self._retry,
            service=service,
            secrets=(self._api_key,),
        )
        output = response.output or {}
        return AppReply(text=output.get("text") or "", session_id=output.get("session_id"))

    def _attempt(self, prompt: str, session_id: str | None) -> Any:
        if self._session is None:
            raise RuntimeError("use BailianApp as `async with BailianApp(...) as app`")
        try:
            from dashscope import Application  # the SDK loads on first use (see DashScopeChat._attempt)

            response = Application.call(
                app_id=self._app_id,
                prompt=prompt,
                session_id=session_id,
                api_key=self._api_key,
                base_address=self._base_url,
                session=self._session,
                request_timeout=self._timeout_s,
            )
        except requests.Timeout as exc:
            raise AttemptFailed(Failure(None, "timeout", "no answer", timed_out=True)) from exc
        except requests.RequestException as exc:
            raise AttemptFailed(Failure(None, "connection", type(exc).__name__)) from exc
        _raise_for_status(response)
        return response


def _options(messages: Sequence[ChatMessage], tools: Sequence[ToolSpec], json_mode: bool,
             json_schema: JsonSchema | None) -> dict[str, Any]:
    """The Generation call's options: messages in the message format, tools, the response format."""
    options: dict[str, Any] = {"messages": [message.to_wire() for message in messages], "result_format": "message"}
    if tools:
        options["tools"] = [tool.to_wire() for tool in tools]
    if json_mode:
        options["response_format"] = {"type": "json_object"}
    if json_schema is not None:
        options["response_format"] = response_format(json_schema)
    return options


def _raise_for_status(response: Any) -> None:
    """Turn a DashScope error *response* (the SDK does not raise) into AttemptFailed."""
    if response.status_code == 200:
        return
    headers = {str(key).lower(): str(value) for key, value in (response.get("headers") or {}).items()}
    raise AttemptFailed(
        Failure(
            response.status_code,
            str(response.code or ""),
            str(response.message or ""),
            retry_after_s=parse_retry_after(headers.get("retry-after")),
        )
    )
