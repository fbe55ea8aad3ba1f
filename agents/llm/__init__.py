"""LLM providers behind one seam, :class:`ChatModel`.

``DashScopeChat`` and ``BailianApp`` use the official dashscope SDK; ``OpenAICompatChat`` speaks
``/chat/completions`` over httpx (DashScope compatible mode, DeepSeek, Ollama, vLLM). Every
provider retries with :func:`with_retries` under a :class:`bot.retry.RetryPolicy` (re-exported here).
"""

from agents.llm.base import ChatMessage, ChatModel, ChatResult, ToolCall, ToolSpec, Usage
from agents.llm.dashscope import AppReply, BailianApp, DashScopeChat
from agents.llm.openai_compat import OpenAICompatChat
from agents.llm.retry import with_retries
from bot.retry import RetryPolicy

__all__ = [
    "AppReply",
    "BailianApp",
    "ChatMessage",
    "ChatModel",
    "ChatResult",
    "DashScopeChat",
    "OpenAICompatChat",
    "RetryPolicy",
    "ToolCall",
    "ToolSpec",
    "Usage",
    "with_retries",
]
