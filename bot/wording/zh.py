"""Chinese wording."""

from __future__ import annotations

from bot.models import Phase, SessionStatus, StepStatus
from bot.wire import StepKind
from bot.wording.base import Wording

WORDING = Wording(
    step_names={StepKind.WEATHER: "天气", StepKind.TRAVEL: "行程"},
    progress_lines={
        (Phase.SENT, StepKind.WEATHER): "→ 已请天气助手查询目的地天气…",
        (Phase.OK, StepKind.WEATHER): "✓ 天气结果已返回",
        (Phase.SENT, StepKind.TRAVEL): "→ 已请行程助手根据天气制定行程…",
        (Phase.OK, StepKind.TRAVEL): "✓ 行程已完成",
        (Phase.FAILED, StepKind.WEATHER): "✗ 天气查询失败",
        (Phase.FAILED, StepKind.TRAVEL): "✗ 行程规划失败",
        (Phase.SLOW, StepKind.WEATHER): "… 天气查询比平时慢，仍在进行（可能在重试）",
        (Phase.SLOW, StepKind.TRAVEL): "… AI 行程规划比平时慢，仍在进行（可能在重试）",
    },
    step_states={
        StepStatus.PENDING: "⏸ 等待中",
        StepStatus.SENT: "⏳ 进行中",
        StepStatus.OK: "✅ 完成",
        StepStatus.FAILED: "⚠️ 失败",
    },
    slow_state="⏳ 比平时慢，仍在进行（AI 可能在重试）",
    slow_note="（比平时慢，AI 可能在重试）",
    asked="的请求：",
    planning="🧭 正在规划…",
    planning_message="🧭 正在为你规划行程，请稍候…",
    outcomes={
        SessionStatus.COMPLETED: "✅ 行程已发在下方。",
        SessionStatus.NEEDS_CLARIFICATION: "💬 需要补充信息，请看下方回复。",
        SessionStatus.FAILED: "⚠️ 没能完成，请看下方说明。",
    },
    headings={
        SessionStatus.RUNNING: "🧭 正在规划行程…",
        SessionStatus.COMPLETED: "✅ 规划完成，行程见下方消息",
        SessionStatus.NEEDS_CLARIFICATION: "💬 需要补充信息，请看下方消息",
        SessionStatus.FAILED: "⚠️ 没能完成，请看下方说明",
    },
    answer_title="行程助手",
    cancelled="tourguide: 已取消。",
    ask_where="想去哪里玩呢？告诉我目的地和日期，例如“下周末去杭州玩两天”或“明天上海天气怎么样”。",
    ask_when="去{destination}的话，打算哪几天呢？例如“下周三到下周日”或“12月5日到7日”。",
    too_many="你的请求有点多，请稍等一分钟再试。",
    text_only="我目前只能看懂文字消息，请用文字告诉我目的地和日期。",
    agent_at_work={StepKind.WEATHER: "正在询问天气助手…", StepKind.TRAVEL: "正在询问行程助手…"},
    thinking="正在规划行程…",
    prompts_title="想去哪里？可以试试：",
    feedback_good="这个行程有帮助",
    feedback_bad="这个行程没有帮助",
)
