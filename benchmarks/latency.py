"""Simulated model time for the pipeline benchmark: a wrapper around an agent's step handler.

The product's agents take as long as their model and APIs take; the benchmark makes each step take a
known time so that the makespan can be compared with the ideal one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from agents.worker import StepHandler
from bot.wire import TaskMessage

LATENCY_ENV = "TOURGUIDE_BENCH_AGENT_LATENCY"  # seconds per step, for the agent processes of the benchmark


def simulated_model_time(seconds: float) -> Callable[[StepHandler], StepHandler]:
    """A wrapper that makes every step wait ``seconds`` first, standing in for LLM / API time."""

    def wrap(handler: StepHandler) -> StepHandler:
        async def slowed(task: TaskMessage) -> Any:
            await asyncio.sleep(seconds)
            return await handler(task)

        return slowed

    return wrap
