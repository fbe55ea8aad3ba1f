"""DingTalk's limits on our side: the card call budget and the markdown DingTalk renders."""

from __future__ import annotations

import itertools
import time

from adapters.dingtalk.budget import MIN_RATE, PAUSE_S, CallBudget
from adapters.dingtalk.markdown import for_dingtalk


async def test_calls_are_spaced_by_the_budget_so_no_second_holds_more_than_its_rate() -> None:
    readings: list[float] = []

    def clock() -> float:  # the budget's own clock: its last reading in take() is when it granted the call
        readings.append(time.monotonic())
        return readings[-1]

    budget = CallBudget(50.0, clock=clock)
    granted, times = [], []
    for _ in range(11):
        await budget.take()
        granted.append(readings[-1])
        times.append(time.monotonic())
    # Judged on the budget's clock: timed from out here, a thread switch between the grant and the reading
    # (other threads of a loaded test worker) once made two gaps look shorter than they were.
    assert all(later - earlier >= 0.02 - 1e-6 for earlier, later in itertools.pairwise(granted))
    assert times[-1] - times[0] >= 0.19  # 11 calls at 50/s span at least 10 gaps of 20 ms


async def test_a_403_pauses_every_taker_halves_the_rate_and_success_wins_it_back() -> None:
    budget = CallBudget(8.0)
    await budget.take()
    budget.refused()
    refused_at = time.monotonic()
    assert budget.rate == 4.0
    await budget.take()
    assert time.monotonic() - refused_at >= PAUSE_S - 0.01  # nobody calls within DingTalk's window
    for _ in range(100):
        budget.accepted()
    assert budget.rate == 8.0  # never above what was configured
    for _ in range(20):
        budget.refused()
    assert budget.rate == MIN_RATE


def test_markdown_is_reduced_to_what_dingtalk_renders() -> None:
    text = "\n".join([
        "# Day 1", "| time | what |", "|---|:---:|", "| 09:00 | West Lake |", "- walk", "  - nested stop",
        "~~old~~ `code` <b>bold</b><br>next", "```", "plain", "```", "**kept** and [a link](https://x.y)",
    ])
    assert for_dingtalk(text).split("\n") == [
        "# Day 1", "time · what", "09:00 · West Lake", "- walk", "- nested stop", "old code bold", "next",
        "plain", "**kept** and [a link](https://x.y)",
    ]
    assert for_dingtalk("杭州 3 天行程\n- 西湖") == "杭州 3 天行程\n- 西湖"  # plain text passes unchanged
