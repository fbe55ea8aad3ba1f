"""Provider-neutral chat vocabulary: messages, tools, results and the :class:`ChatModel` seam.

Every LLM provider (DashScope SDK, OpenAI-compatible HTTP) speaks these value objects, so the
planner never sees a provider's wire format. ``to_wire`` gives the message shape that both
DashScope (``result_format="message"``) and OpenAI ``/chat/completions`` accept.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["system", "user", "assistant", "tool"]
JsonSchema = Mapping[str, Any]  # {"name": str, "schema": {...}}: OpenAI's and DashScope's json_schema format


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ToolCall(_Value):
    """A function call requested by the model; ``arguments`` is already decoded from JSON."""

    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        """The OpenAI/DashScope shape, with ``arguments`` encoded back to a JSON string."""
        arguments = json.dumps(self.arguments, ensure_ascii=False)
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": arguments}}


class ChatMessage(_Value):
    """One turn of a conversation; tool results carry ``tool_call_id`` and the tool ``name``."""

    role: Role
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None

    @classmethod
    def system(cls, content: str) -> ChatMessage:
        """A system instruction."""
        return cls(role="system", content=content)

    @classmethod
    def user(cls, content: str) -> ChatMessage:
        """A user turn."""
        return cls(role="user", content=content)

    @classmethod
    def tool_result(cls, call: ToolCall, content: str) -> ChatMessage:
        """The answer to ``call``, to append after the assistant turn that requested it."""
        return cls(role="tool", content=content, tool_call_id=call.id, name=call.name)

    def to_wire(self) -> dict[str, Any]:
        """The message as both DashScope and OpenAI-compatible APIs expect it."""
        wire: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            wire["tool_calls"] = [call.to_wire() for call in self.tool_calls]
        if self.tool_call_id is not None:
            wire["tool_call_id"] = self.tool_call_id
        if self.name is not None:
            wire["name"] = self.name
        return wire


class ToolSpec(_Value):
    """A function the model may call; ``parameters`` is a JSON schema object."""

    name: str
    description: str
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})

    def to_wire(self) -> dict[str, Any]:
        """The ``tools`` entry shared by DashScope and the OpenAI schema."""
        function = {"name": self.name, "description": self.description, "parameters": self.parameters}
        return {"type": "function", "function": function}


class Usage(_Value):
    """Token counts reported by the provider (0 when it reports none)."""

    input_tokens: int = 0
    output_tokens: int = 0


class ChatResult(_Value):
    """The model's answer: text, or tool calls to run before asking again."""

    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str = "stop"
    model: str = ""
    usage: Usage = Usage()

    def as_message(self) -> ChatMessage:
        """The assistant turn to append to the conversation (needed before tool results)."""
        return ChatMessage(role="assistant", content=self.content, tool_calls=self.tool_calls)


class ChatModel(Protocol):
    """Anything that completes a conversation; the planner depends on this seam only."""

    async def complete(
        self, messages: Sequence[ChatMessage], *, tools: Sequence[ToolSpec] = (), json_mode: bool = False,
        json_schema: JsonSchema | None = None,
    ) -> ChatResult:
        """Answer ``messages``; ``json_mode`` asks for one JSON object as the content, ``json_schema``
        (structured output, ``{"name", "schema"}``) for one that fits that JSON schema.

        Raises ExternalServiceError (RateLimited, ServiceTimeout) once retries are spent, and
        ConfigError when the provider rejects the credentials.
        """
        ...


TextSink = Callable[[str], Awaitable[None]]  # the model's whole text so far, as it streams


class StreamingChatModel(ChatModel, Protocol):
    """A :class:`ChatModel` whose provider streams its answer (OpenAI-compatible ``stream: true``)."""

    async def complete_streaming(
        self, messages: Sequence[ChatMessage], *, on_text: TextSink, json_mode: bool = False,
        json_schema: JsonSchema | None = None,
    ) -> ChatResult:
        """:meth:`ChatModel.complete` without tools, telling ``on_text`` the content so far as it arrives
        (from the start again when an attempt is retried)."""
        ...


def response_format(json_schema: JsonSchema) -> dict[str, Any]:
    """The ``response_format`` of structured output, the same shape for OpenAI-compatible APIs and DashScope."""
    return {"type": "json_schema", "json_schema": {"strict": True, **json_schema}}
