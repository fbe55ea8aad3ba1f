"""Stand-in for DashScope: text generation (``result_format=message``, tools) and Bailian apps.

Speaks the native wire format of §3.1 of chat-platforms.md, so the real ``dashscope`` SDK
talks to it unchanged (``base_address=fake.base_url``). Errors use DashScope's body
``{"request_id", "code", "message"}``. A streamed generation (``X-DashScope-SSE: enable`` with
``incremental_output``) gets the same answer as DashScope's server-sent events (``id:``, ``event:result``,
``:HTTP_STATUS/200``, ``data:`` with the new text only, ``stream_chunk_chars`` at a time,
``stream_delay_s`` apart; the last one with the finish reason).
"""

from __future__ import annotations

import asyncio
import json
from itertools import count
from typing import Any

from aiohttp import web

from tests.standins.scripted_http import Recorded, Reply, ScriptedServer, has_bearer

GENERATION_PATH = "/api/v1/services/aigc/text-generation/generation"
_ids = count(1)


def _request_id() -> str:
    return f"req-{next(_ids)}"


class FakeDashScope(ScriptedServer):
    """``async with FakeDashScope() as fake``; point the SDK at ``fake.base_url``."""

    def __init__(self, api_key: str = "sk-fake", app_ids: tuple[str, ...] = ("app-travel",), *,
                 stream_chunk_chars: int = 24, stream_delay_s: float = 0.02) -> None:
        super().__init__()
        self.api_key = api_key
        self.app_ids = app_ids
        self.stream_chunk_chars, self.stream_delay_s = stream_chunk_chars, stream_delay_s

    @property
    def base_url(self) -> str:
        """What ``DASHSCOPE_HTTP_BASE_URL`` would be: ``http://127.0.0.1:PORT/api/v1``."""
        return f"{self.origin}/api/v1"

    def routes(self, app: web.Application) -> None:
        """Generation and app-completion endpoints."""
        app.router.add_post(GENERATION_PATH, self._generation)
        app.router.add_post("/api/v1/apps/{app_id}/completion", self._app_completion)

    async def _generation(self, request: web.Request) -> web.StreamResponse:
        answer = await self.answer(request, _default_generation, self._check_generation)
        body = self.requests[-1].json if self.requests else None
        incremental = isinstance(body, dict) and (body.get("parameters") or {}).get("incremental_output")
        if answer.status != 200 or request.headers.get("X-DashScope-SSE") != "enable" or not incremental:
            return answer
        return await self._stream(request, json.loads(answer.text or "{}"))

    async def _stream(self, request: web.Request, reply: dict[str, Any]) -> web.StreamResponse:
        """``reply`` as DashScope streams it with ``incremental_output``: each event the new text only."""
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream;charset=UTF-8"})
        await response.prepare(request)
        choice = ((reply.get("output") or {}).get("choices") or [{}])[0]
        content = str((choice.get("message") or {}).get("content") or "")
        pieces = [content[i:i + self.stream_chunk_chars] for i in range(0, len(content), self.stream_chunk_chars)]
        for number, piece in enumerate(pieces or [""], start=1):
            last = number == max(len(pieces), 1)
            finish = choice.get("finish_reason", "stop") if last else "null"
            event = {"request_id": reply.get("request_id", ""), "usage": reply.get("usage"), "output": {
                "choices": [{"finish_reason": finish, "message": {"role": "assistant", "content": piece}}]}}
            data = json.dumps(event, ensure_ascii=False)
            await response.write(f"id:{number}\nevent:result\n:HTTP_STATUS/200\ndata:{data}\n\n".encode())
            await asyncio.sleep(self.stream_delay_s)
        await response.write_eof()
        return response

    async def _app_completion(self, request: web.Request) -> web.Response:
        return await self.answer(request, _default_app_answer, self._check_app)

    def _check_generation(self, recorded: Recorded) -> Reply | None:
        if not has_bearer(recorded, self.api_key):
            return error(401, "InvalidApiKey", "Invalid API-key provided.")
        body = recorded.json or {}
        if not body.get("model") or not (body.get("input") or {}).get("messages"):
            return error(400, "InvalidParameter", "model and input.messages are required")
        tools = (body.get("parameters") or {}).get("tools", [])
        if any(tool.get("type") != "function" or "name" not in tool.get("function", {}) for tool in tools):
            return error(400, "InvalidParameter", "tools must be function definitions")
        return None

    def _check_app(self, recorded: Recorded) -> Reply | None:
        if not has_bearer(recorded, self.api_key):
            return error(401, "InvalidApiKey", "Invalid API-key provided.")
        if recorded.path.split("/")[-2] not in self.app_ids:
            return error(400, "InvalidParameter", "App not found")
        return None


def completion(content: str, *, finish_reason: str = "stop") -> Reply:
    """A scripted assistant answer in ``result_format=message`` shape."""
    return _choice({"role": "assistant", "content": content}, finish_reason)


def tool_call(name: str, arguments: dict[str, Any], *, call_id: str = "call_1") -> Reply:
    """A scripted answer that asks for one function call."""
    function = {"name": name, "arguments": json.dumps(arguments, ensure_ascii=False)}
    call = {"id": call_id, "type": "function", "index": 0, "function": function}
    return _choice({"role": "assistant", "content": "", "tool_calls": [call]}, "tool_calls")


def error(status: int, code: str, message: str, *, retry_after: float | None = None) -> Reply:
    """A DashScope error answer, e.g. ``error(429, "Throttling.RateQuota", "Requests rate limit exceeded")``."""
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    return Reply(status, {"request_id": _request_id(), "code": code, "message": message}, headers)


def app_answer(text: str, *, session_id: str = "sess-1") -> Reply:
    """A scripted Bailian application answer."""
    return Reply(body=_app_body(text, session_id))


def _choice(message: dict[str, Any], finish_reason: str) -> Reply:
    output = {"choices": [{"finish_reason": finish_reason, "message": message}]}
    usage = {"input_tokens": 12, "output_tokens": 7, "total_tokens": 19}
    return Reply(body={"request_id": _request_id(), "output": output, "usage": usage})


def _default_generation(recorded: Recorded) -> Reply:
    """Tools offered and the user spoke last: call the first tool; otherwise echo the last turn."""
    body = recorded.json
    messages, parameters = body["input"]["messages"], body.get("parameters") or {}
    last = messages[-1]
    tools = parameters.get("tools") or []
    if tools and last.get("role") == "user":
        return tool_call(tools[0]["function"]["name"], {})
    text = f"fake answer to: {last.get('content', '')}"
    if parameters.get("result_format") != "message":
        return Reply(body={"request_id": _request_id(), "output": {"text": text, "finish_reason": "stop"}})
    return completion(text)


def _default_app_answer(recorded: Recorded) -> Reply:
    app_input = recorded.json.get("input") or {}
    session_id = app_input.get("session_id") or "sess-new"
    return Reply(body=_app_body(f"app answer to: {app_input.get('prompt', '')}", session_id))


def _app_body(text: str, session_id: str) -> dict[str, Any]:
    output = {"text": text, "finish_reason": "stop", "session_id": session_id}
    usage = {"models": [{"model_id": "qwen-plus", "input_tokens": 10, "output_tokens": 5}]}
    return {"request_id": _request_id(), "output": output, "usage": usage}
