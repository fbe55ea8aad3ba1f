"""A Bailian (百炼) application by app ID, used where a ChatModel is expected.

The reference deployment gives each agent its own Bailian app (prompt, knowledge base and plugins
configured in the console). The app takes one prompt, so the conversation is flattened into it; the
app's own instructions play the system role.
"""

from __future__ import annotations

from collections.abc import Sequence

from agents.llm.base import ChatMessage, ChatResult, JsonSchema, ToolSpec
from agents.llm.dashscope import BailianApp


class BailianChat:
    """``ChatModel`` over a Bailian application (no tool calling: the app runs its own plugins)."""

    def __init__(self, app: BailianApp) -> None:
        self._app = app

    async def complete(
        self, messages: Sequence[ChatMessage], *, tools: Sequence[ToolSpec] = (), json_mode: bool = False,
        json_schema: JsonSchema | None = None,
    ) -> ChatResult:
        """Ask the app; tools are ignored and JSON is requested in words when ``json_mode``."""
        prompt = "\n\n".join(m.content for m in messages if m.content)
        if json_mode or json_schema is not None:
            prompt += "\n\nAnswer with one JSON object only."
        reply = await self._app.ask(prompt)
        return ChatResult(content=reply.text, model="bailian-app")
