"""Stand-in for an OpenAI-compatible server: ``POST /v1/chat/completions``.

The same shape DashScope compatible mode, DeepSeek, Ollama and vLLM serve. Errors use the
OpenAI body ``{"error": {"message", "type", "code"}}``. A request with ``"stream": true`` gets the same answer
as server-sent events (``chat.completion.chunk`` deltas of ``stream_chunk_chars``, ``stream_delay_s`` apart,
then the finish reason, the usage when ``stream_options.include_usage`` asks for it, and ``[DONE]``);
``default`` answers requests nothing was scripted for.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from itertools import count
from typing import Any

from aiohttp import web

from tests.standins.scripted_http import Recorded, Reply, ScriptedServer, has_bearer

_ids = count(1)


class FakeOpenAI(ScriptedServer):
    """``async with FakeOpenAI() as fake``; use ``fake.base_url`` as the client's base URL."""

    def __init__(self, api_key: str = "sk-fake", *, stream_chunk_chars: int = 24, stream_delay_s: float = 0.02) -> None:
        super().__init__()
        self.api_key = api_key
        self.stream_chunk_chars, self.stream_delay_s = stream_chunk_chars, stream_delay_s
        self.default: Callable[[Recorded], Reply] = _default_chat

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``."""
        return f"{self.origin}/v1"

    def routes(self, app: web.Application) -> None:
        """The chat completions endpoint."""
        app.router.add_post("/v1/chat/completions", self._chat)

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        answer = await self.answer(request, self.default, self._check)
        body = self.requests[-1].json if self.requests else None
        if answer.status != 200 or not isinstance(body, dict) or not body.get("stream"):
            return answer
        return await self._stream(request, json.loads(answer.text or "{}"), body)

    async def _stream(self, request: web.Request, completion: dict[str, Any],
                      asked: dict[str, Any]) -> web.StreamResponse:
        """``completion`` as OpenAI streams it: content deltas, the finish reason, the usage, ``[DONE]``."""
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        choice = (completion.get("choices") or [{}])[0]
        content = str((choice.get("message") or {}).get("content") or "")
        head = {"id": completion.get("id", "chatcmpl-0"), "object": "chat.completion.chunk",
                "model": completion.get("model", "")}

        async def send(event: dict[str, Any] | str) -> None:
            data = event if isinstance(event, str) else json.dumps(head | event, ensure_ascii=False)
            await response.write(f"data: {data}\n\n".encode())

        await send({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]})
        for start in range(0, len(content), self.stream_chunk_chars):
            piece = content[start:start + self.stream_chunk_chars]
            await send({"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
            await asyncio.sleep(self.stream_delay_s)
        await send({"choices": [{"index": 0, "delta": {}, "finish_reason": choice.get("finish_reason", "stop")}]})
        if (asked.get("stream_options") or {}).get("include_usage"):
            await send({"choices": [], "usage": completion.get("usage")})
        await send("[DONE]")
        await response.write_eof()
        return response

    def _check(self, recorded: Recorded) -> Reply | None:
        if self.api_key and not has_bearer(recorded, self.api_key):
            return error(401, "invalid_api_key", "Incorrect API key provided.", kind="invalid_request_error")
        body = recorded.json or {}
        if not body.get("model") or not body.get("messages"):
            return error(400, "invalid_request", "model and messages are required")
        return None


def completion(content: str, *, model: str = "qwen-plus", finish_reason: str = "stop") -> Reply:
    """A scripted assistant answer."""
    return _choice({"role": "assistant", "content": content}, model, finish_reason)


def tool_call(name: str, arguments: dict[str, Any], *, call_id: str = "call_1", model: str = "qwen-plus") -> Reply:
    """A scripted answer that asks for one function call (``content`` is null, as in OpenAI)."""
    function = {"name": name, "arguments": json.dumps(arguments, ensure_ascii=False)}
    call = {"id": call_id, "type": "function", "function": function}
    return _choice({"role": "assistant", "content": None, "tool_calls": [call]}, model, "tool_calls")


def error(status: int, code: str, message: str, *, kind: str = "api_error", retry_after: float | None = None) -> Reply:
    """An OpenAI-style error answer, optionally with ``Retry-After``."""
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    return Reply(status, {"error": {"message": message, "type": kind, "code": code}}, headers)


def _choice(message: dict[str, Any], model: str, finish_reason: str) -> Reply:
    body = {
        "id": f"chatcmpl-{next(_ids)}",
        "object": "chat.completion",
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 6, "total_tokens": 17},
    }
    return Reply(body=body)


def _default_chat(recorded: Recorded) -> Reply:
    body = recorded.json
    last = body["messages"][-1]
    tools = body.get("tools") or []
    if tools and last.get("role") == "user":
        return tool_call(tools[0]["function"]["name"], {}, model=body["model"])
    return completion(f"fake answer to: {last.get('content', '')}", model=body["model"])


def trip_reading(**fields: Any) -> str:
    """The JSON a model answers to the intake's structured extraction (``trip_request`` schema); fields
    not given are empty, so the deterministic parse stands."""
    base: dict[str, Any] = {"intent": "itinerary", "destinations": [], "origin": None, "date_words": None,
                            "travelers": None, "children": None, "seniors": None, "budget": "unspecified",
                            "mode": "unspecified", "interests": []}
    return json.dumps(base | fields, ensure_ascii=False)
