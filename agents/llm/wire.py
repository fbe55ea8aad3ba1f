"""Typed view of the assistant message both DashScope and OpenAI-compatible APIs return.

DashScope (``result_format="message"``) and ``/chat/completions`` share the choice shape
``{finish_reason, message: {role, content, tool_calls: [{id, type, function: {name,
arguments}}]}}``; only the envelope and the usage field names differ, so those stay with
each provider.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from agents.llm.base import ToolCall
from bot.errors import ExternalServiceError


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class WireFunction(_Loose):
    """``tool_calls[i].function``: ``arguments`` is a JSON string on the wire."""

    name: str
    arguments: str | dict[str, Any] = "{}"


class WireToolCall(_Loose):
    """One entry of ``message.tool_calls``."""

    id: str = ""
    function: WireFunction


class WireMessage(_Loose):
    """The assistant message of a choice; ``content`` may be null when tools are called."""

    role: str = "assistant"
    content: str | list[Any] | None = None
    tool_calls: list[WireToolCall] | None = None

    def text(self) -> str:
        """The content as text (multimodal lists are joined by their ``text`` parts)."""
        if isinstance(self.content, list):
            return "".join(str(part.get("text", "")) for part in self.content if isinstance(part, dict))
        return self.content or ""

    def calls(self) -> tuple[ToolCall, ...]:
        """The requested tool calls with decoded arguments; raises ExternalServiceError on bad JSON."""
        return tuple(_decode(index, call) for index, call in enumerate(self.tool_calls or ()))


class WireChoice(_Loose):
    """One entry of ``choices``."""

    finish_reason: str | None = None
    message: WireMessage


def first_choice(choices: Any, provider: str) -> WireChoice:
    """Validate ``choices`` and return the first; raises ExternalServiceError if there is none."""
    try:
        if not isinstance(choices, list) or not choices:
            raise ExternalServiceError(f"{provider} returned no choices")
        return WireChoice.model_validate(choices[0])
    except ValidationError as exc:
        raise ExternalServiceError(f"{provider} returned a malformed choice: {exc.error_count()} errors") from exc


def _decode(index: int, call: WireToolCall) -> ToolCall:
    arguments = call.function.arguments
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments or "{}")
        except json.JSONDecodeError as exc:
            raise ExternalServiceError(f"model sent invalid JSON arguments for {call.function.name}") from exc
    if not isinstance(arguments, dict):
        raise ExternalServiceError(f"model sent non-object arguments for {call.function.name}")
    # Some OpenAI-compatible servers (older Ollama) omit the id; the tool reply still needs one.
    return ToolCall(id=call.id or f"call_{index}", name=call.function.name, arguments=arguments)
