"""The queue-position notice: its detail on the wire (``position:seconds``) and its words in each language."""

from __future__ import annotations

from bot.schemas import Language


def queue_detail(position: int, wait_s: int) -> str:
    """A ``Phase.QUEUED`` event's detail: steps ahead and the estimated wait in seconds."""
    return f"{position}:{wait_s}"


def parse_queue_detail(detail: str) -> tuple[int, int] | None:
    """(steps ahead, seconds) from a ``Phase.QUEUED`` detail; None when it is not one."""
    position, sep, seconds = detail.partition(":")
    if not sep or not position.isdigit() or not seconds.isdigit():
        return None
    return int(position), int(seconds)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _about(seconds: int, zh: bool) -> str:
    if seconds < 90:
        return f"{seconds} 秒" if zh else f"{seconds} s"
    minutes = round(seconds / 60)
    return f"{minutes} 分钟" if zh else f"{minutes} min"


def queued_line(language: Language, detail: str) -> str:
    """"排队中，前面还有 12 个请求，预计 40 秒" / "You're 13th in line, about 40 s" ("" for a bad detail)."""
    parsed = parse_queue_detail(detail)
    if parsed is None:
        return ""
    ahead, seconds = parsed
    if language == Language.ZH:
        return f"… 排队中，前面还有 {ahead} 个请求，预计 {_about(seconds, True)}"
    return f"… You're {_ordinal(ahead + 1)} in line, about {_about(seconds, False)}"
