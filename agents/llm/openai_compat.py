"""Any OpenAI-compatible ``/chat/completions`` endpoint over httpx.

Covers DashScope compatible mode (``https://dashscope.aliyuncs.com/compatible-mode/v1``),
DeepSeek, Ollama (``http://localhost:11434/v1``) and vLLM: same request, same tool-call shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from agents.llm.base import ChatMessage, ChatResult, JsonSchema, TextSink, ToolSpec, Usage, response_format
from agents.llm.http_attempt import OwnsHttpClient, request_json, stream_events
from agents.llm.retry import with_retries
from agents.llm.wire import first_choice
from bot.errors import ExternalServiceError
from bot.retry import RetryPolicy


class OpenAICompatChat(OwnsHttpClient):
    """A :class:`~agents.llm.base.ChatModel` over an OpenAI-compatible server.

    Use as ``async with``: it creates (and closes) its own ``httpx.AsyncClient`` unless one is
    passed in, in which case the caller owns it. An empty ``api_key`` sends no Authorization
    header (local Ollama / vLLM).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        model: str,
        *,
        timeout_s: float = 60.0,
        retry: RetryPolicy | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._api_key = api_key
        self._model = model
        self._timeout_s = timeout_s
        self._retry = retry or RetryPolicy()
        super().__init__(http)

    def __repr__(self) -> str:
        return f"OpenAICompatChat(model={self._model!r}, url={self._url!r})"

    async def complete(
        self, messages: Sequence[ChatMessage], *, tools: Sequence[ToolSpec] = (), json_mode: bool = False,
        json_schema: JsonSchema | None = None,
    ) -> ChatResult:
        """Ask the model; raises RateLimited, ServiceTimeout, ConfigError or ExternalServiceError."""
        http = self._http
        if http is None:
            raise RuntimeError("use OpenAICompatChat as `async with OpenAICompatChat(...) as chat`")
        payload = self._payload(messages, tools, json_mode)
        if json_schema is not None:
            payload["response_format"] = response_format(json_schema)
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        body = await with_retries(
            lambda: request_json(http, "POST", self._url, timeout_s=self._timeout_s, json=payload, headers=headers),
            self._retry,
            service=f"LLM {self._model}",
            secrets=(self._api_key,),
        )
        return self._result(body)

    async def complete_streaming(
        self, messages: Sequence[ChatMessage], *, on_text: TextSink, json_mode: bool = False,
        json_schema: JsonSchema | None = None,
    ) -> ChatResult:
        """Ask the model with ``stream: true``; ``on_text`` gets the content so far after every delta."""
        http = self._http
        if http is None:
            raise RuntimeError("use OpenAICompatChat as `async with OpenAICompatChat(...) as chat`")
        payload = self._payload(messages, (), json_mode) | {"stream": True, "stream_options": {"include_usage": True}}
        if json_schema is not None:
            payload["response_format"] = response_format(json_schema)
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}

        async def attempt() -> ChatResult:
            text: list[str] = []
            seen: dict[str, Any] = {"finish_reason": "stop", "model": self._model, "usage": {}}

            async def on_event(event: Any) -> None:
                if not isinstance(event, dict):
                    return
                seen["model"] = event.get("model") or seen["model"]
                seen["usage"] = event.get("usage") or seen["usage"]
                for choice in event.get("choices") or []:
                    seen["finish_reason"] = choice.get("finish_reason") or seen["finish_reason"]
                    delta = (choice.get("delta") or {}).get("content")
                    if delta:
                        text.append(str(delta))
                        await on_text("".join(text))

            await stream_events(http, self._url, timeout_s=self._timeout_s, json=payload, headers=headers,
                                on_event=on_event)
            usage = seen["usage"] if isinstance(seen["usage"], dict) else {}
            return ChatResult(content="".join(text), finish_reason=str(seen["finish_reason"]), model=str(seen["model"]),
                              usage=Usage(input_tokens=usage.get("prompt_tokens", 0),
                                          output_tokens=usage.get("completion_tokens", 0)))

        return await with_retries(attempt, self._retry, service=f"LLM {self._model}", secrets=(self._api_key,))

    def _payload(self, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec], json_mode: bool) -> dict[str, Any]:
        payload: dict[str, Any] = {"model": self._model, "messages": [m.to_wire() for m in messages]}
        if tools:
            payload["tools"] = [tool.to_wire() for tool in tools]
        if json_mode:
            payload["response_format"] = {"type": "json_object"}
        return payload

    def _result(self, body: Any) -> ChatResult:
        if not isinstance(body, dict):
            raise ExternalServiceError(f"LLM {self._model} returned a non-object body")
        choice = first_choice(body.get("choices"), f"LLM {self._model}")
        usage = body.get("usage") or {}
        return ChatResult(
            content=choice.message.text(),
            tool_calls=choice.message.calls(),
            finish_reason=choice.finish_reason or "stop",
            model=str(body.get("model") or self._model),
            usage=Usage(input_tokens=usage.get("prompt_tokens", 0), output_tokens=usage.get("completion_tokens", 0)),
        )
