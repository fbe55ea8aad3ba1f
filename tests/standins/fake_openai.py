"""Stand-in for an OpenAI-compatible server: ``POST /v1/chat/completions``.

The same shape DashScope compatible mode, DeepSeek, Ollama and vLLM serve. Errors use the
OpenAI body ``{"error": {"message", "type", "code"}}``.
"""

from __future__ import annotations

import json
from itertools import count
from typing import Any

from aiohttp import web

from tests.standins.scripted_http import Recorded, Reply, ScriptedServer, has_bearer

_ids = count(1)


class FakeOpenAI(ScriptedServer):
    """``async with FakeOpenAI() as fake``; use ``fake.base_url`` as the client's base URL."""

    def __init__(self, api_key: str = "sk-fake") -> None:
        super().__init__()
        self.api_key = api_key

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``."""
        return f"{self.origin}/v1"

    def routes(self, app: web.Application) -> None:
        """The chat completions endpoint."""
        app.router.add_post("/v1/chat/completions", self._chat)

    async def _chat(self, request: web.Request) -> web.Response:
        return await self.answer(request, _default_chat, self._check)

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
