"""The web page's own words (tabs, buttons, notices, the trace view), in the browser's language.

Before any request the page only knows the languages its browser prefers (``Accept-Language``); it gets
this table with its session. A request's own words (steps, cards, chart) follow the request instead
(:mod:`bot.wording.cards`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from bot.schemas import Language


@dataclass(frozen=True, slots=True)
class PageWords:
    """The page words of one language; ``{s}`` is seconds, ``{n}`` a count, ``{t}`` a duration, ``{error}`` why."""

    lang: str  # the page's ``<html lang>``
    chat_tab: str
    trace_tab: str
    your_request: str  # the message box's label (screen readers)
    placeholder: str  # example requests in the empty message box
    send: str
    new: str  # the button that starts a fresh conversation
    new_title: str  # its tooltip
    new_conversation: str  # the note after it
    connecting: str
    live: str
    reconnecting: str
    too_many: str  # the per-browser limit refused a message: ``{s}``
    not_sent: str  # a message could not be sent: ``{error}``
    unreachable: str  # the page could not reach the server: ``{error}``
    trace_query: str  # the trace search box's label
    trace_placeholder: str
    admin_placeholder: str
    search: str
    search_failed: str  # ``{error}``
    no_match: str
    hops_over: str  # a task's trace heading: ``{n}`` hops over ``{t}``


EN = PageWords(
    lang="en",
    chat_tab="Chat",
    trace_tab="Message trace",
    your_request="Your request",
    placeholder="3 days in Kyoto next weekend · 帮我做一个下周三到下周日杭州周边自驾游方案 · /new",
    send="Send",
    new="New",
    new_title="Start a fresh conversation",
    new_conversation="New conversation: the next request starts from scratch.",
    connecting="connecting…",
    live="live",
    reconnecting="reconnecting…",
    too_many="Too many requests: try again in {s} s.",
    not_sent="Could not send: {error}",
    unreachable="Could not reach the server: {error}",
    trace_query="Task ID, topic or lite topic",
    trace_placeholder="empty: my recent tasks",
    admin_placeholder="admin token (optional)",
    search="Search",
    search_failed="Search failed: {error}",
    no_match="No task of yours matches.",
    hops_over="{n} hops over {t}",
)

ZH = PageWords(
    lang="zh-CN",
    chat_tab="对话",
    trace_tab="消息轨迹",
    your_request="你的请求",
    placeholder="帮我做一个下周三到下周日杭州周边自驾游方案 · 3 days in Kyoto next weekend · /new",
    send="发送",
    new="新对话",
    new_title="开始一段新的对话",
    new_conversation="已开始新对话：下一个请求将从头规划。",
    connecting="连接中…",
    live="已连接",
    reconnecting="重新连接中…",
    too_many="请求太频繁了，请 {s} 秒后再试。",
    not_sent="发送失败：{error}",
    unreachable="无法连接服务器：{error}",
    trace_query="任务 ID、主题或轻量主题",
    trace_placeholder="留空：我最近的任务",
    admin_placeholder="管理员令牌（可选）",
    search="搜索",
    search_failed="搜索失败：{error}",
    no_match="没有找到你的相关任务。",
    hops_over="{n} 个环节，历时 {t}",
)


def page_words(language: Language) -> PageWords:
    """The table of ``language``."""
    return ZH if language == Language.ZH else EN


def page_labels(language: Language) -> dict[str, str]:
    """The table of ``language`` as JSON for the page."""
    return asdict(page_words(language))


def browser_language(accept_language: str) -> Language:
    """The first language we speak among a browser's preferences (``zh-CN,zh;q=0.9,en;q=0.8``); else English."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranked.append((-quality, position, tag.strip().lower()))
    for negative_quality, _, tag in sorted(ranked):
        primary = tag.split("-")[0]
        if negative_quality < 0 and primary in (Language.ZH.value, Language.EN.value):
            return Language(primary)
    return Language.EN
