"""What the page says when an agent picks a step up, and when it tries a step again after a failure."""

from __future__ import annotations

from bot.schemas import Language


def delivery_state(language: Language, attempt: int, failed: bool) -> str:
    """"✋ 助手已接手" / "🔁 第 2 次尝试（上次失败）" and their English; ``failed``: this attempt just failed."""
    zh = language == Language.ZH
    if failed:
        return f"⚠️ 第 {attempt} 次尝试失败，稍后重试" if zh else f"⚠️ attempt {attempt} failed, retrying soon"
    if attempt <= 1:
        return "✋ 助手已接手" if zh else "✋ picked up by the agent"
    return f"🔁 第 {attempt} 次尝试（上次失败）" if zh else f"🔁 attempt {attempt} (the last one failed)"
