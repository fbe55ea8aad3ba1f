"""Model budgets: at most N model requests (and T tokens) per window, shrinking when the provider says 429.

The concurrency cap (``TOURGUIDE_AGENT_CONCURRENCY``) bounds how many steps run at once; a budget bounds how
fast they may call the model. A budget belongs to one agent type and is split evenly between its processes:
each process enforces ``budget / TOURGUIDE_LLM_PROCESSES`` on its own (no coordination at run time, so a
process that idles leaves its share unused; start them with the same settings).

The window is a sliding one (the last ``window_s`` seconds, 60 by default): no window ever holds more calls
than the limit. A 429 halves the limit (multiplicative decrease, never below one call per window); every full
window without a 429 gives back a tenth of the budget (additive increase) until the configured budget is
reached again. Steps that must wait for the budget hold their broker message; a worker holds at most twice
its concurrency cap (the client's cache), so the rest of a burst waits in the broker, not in memory.

Tokens are known only after a call (the provider's ``usage``); a call starts while the window's tokens are
under the limit, so one call may overshoot it by its own size.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from agents.llm.base import ChatMessage, ChatModel, ChatResult, JsonSchema, TextSink, ToolSpec
from bot import metrics, tracing
from bot.errors import RateLimited
from bot.retry import RetryPolicy

log = logging.getLogger("tourguide.llm.budget")
IN_FLIGHT_POLL_S = 0.05


class Call:
    """One model request counted against a budget; in flight until :meth:`ModelBudget.done`."""

    __slots__ = ("ended_at",)

    def __init__(self) -> None:
        self.ended_at = math.inf


class ModelBudget:
    """A sliding-window request (and token) budget with AIMD on 429s; ``0`` means unlimited."""

    def __init__(self, requests: int, tokens: int = 0, *, window_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.requests = requests
        self.tokens = tokens
        self.window_s = window_s
        self._clock = clock
        self._limit = float(requests)  # the current request limit per window (AIMD moves it)
        self._calls: list[Call] = []
        self._spent: deque[tuple[float, int]] = deque()
        self._last_change = clock()
        self._lock = asyncio.Lock()  # waiters are served in arrival order

    @property
    def limit(self) -> int:
        """Requests allowed per window right now (0 = unlimited)."""
        self._recover()
        return max(1, math.floor(self._limit)) if self.requests else 0

    async def acquire(self) -> Call:
        """Wait until one more request fits in the window and count it; pass the result to :meth:`done`."""
        async with self._lock:
            while (wait := self._wait_s()) > 0:  # noqa: ASYNC110 - waiting for time to pass, not for an event
                await asyncio.sleep(wait)
            call = Call()
            self._calls.append(call)
            return call

    def done(self, call: Call) -> None:
        """The call is over: it leaves the window ``window_s`` after now.

        A call counts from its start until one window after its end, so the provider, which sees it at some
        moment in between, never sees more calls in a window than the limit, whatever the network delay.
        """
        call.ended_at = self._clock()

    def spend(self, tokens: int) -> None:
        """Count the tokens a finished call used."""
        if tokens > 0:
            self._spent.append((self._clock(), tokens))

    def throttled(self) -> None:
        """The provider answered 429: halve the request limit."""
        if not self.requests:
            return
        self._recover()
        self._limit = max(1.0, self._limit / 2)
        self._last_change = self._clock()
        log.warning("model rate limited: budget now %d requests per %.0f s", self.limit, self.window_s)

    def _wait_s(self) -> float:
        now = self._clock()
        self._recover()
        self._calls = [c for c in self._calls if c.ended_at + self.window_s > now]
        while self._spent and self._spent[0][0] <= now - self.window_s:
            self._spent.popleft()
        wait = 0.0
        if self.requests and len(self._calls) >= self.limit:
            # the slot frees when the call that leaves the window soonest does (one in flight: poll)
            ends = sorted(c.ended_at for c in self._calls)
            frees_at = ends[len(ends) - self.limit] + self.window_s
            wait = IN_FLIGHT_POLL_S if math.isinf(frees_at) else frees_at - now
        if self.tokens and sum(t for _, t in self._spent) >= self.tokens:
            wait = max(wait, self._spent[0][0] + self.window_s - now)
        return wait + 0.001 if wait > 0 else 0.0

    def _recover(self) -> None:
        """Additive increase: a tenth of the budget back per full window without a 429."""
        if not self.requests or self._limit >= self.requests:
            return
        windows = int((self._clock() - self._last_change) // self.window_s)
        if windows > 0:
            self._limit = min(float(self.requests), self._limit + windows * max(1.0, self.requests / 10))
            self._last_change += windows * self.window_s
            log.info("model budget recovering: %d requests per %.0f s", self.limit, self.window_s)


def share(budget: int, processes: int) -> int:
    """One process's share of an agent type's budget (at least 1 when there is a budget)."""
    return max(1, budget // processes) if budget else 0


class BudgetedChat:
    """A :class:`ChatModel` that spends a :class:`ModelBudget` on every attempt and counts calls in metrics.

    The wrapped provider must not retry 429s itself (see :func:`agents.llm.providers.chat_model`): each 429
    comes here, shrinks the budget, and the call is tried again once the smaller budget allows it.
    """

    def __init__(self, model: ChatModel, budget: ModelBudget, *, agent: str, max_throttled: int = 6) -> None:
        self._model = model
        self._budget = budget
        self._agent = agent
        self._max_throttled = max_throttled

    def __repr__(self) -> str:
        return f"BudgetedChat({self._model!r}, {self._budget.limit} requests per {self._budget.window_s:.0f} s)"

    async def complete(
        self, messages: Sequence[ChatMessage], *, tools: Sequence[ToolSpec] = (), json_mode: bool = False,
        json_schema: JsonSchema | None = None,
    ) -> ChatResult:
        """Wait for the budget, then ask the wrapped model; a 429 shrinks the budget and waits again."""
        return await self._spend(lambda: self._model.complete(messages, tools=tools, json_mode=json_mode,
                                                              json_schema=json_schema))

    async def complete_streaming(
        self, messages: Sequence[ChatMessage], *, on_text: TextSink, json_mode: bool = False,
        json_schema: JsonSchema | None = None,
    ) -> ChatResult:
        """:meth:`complete`, streaming when the wrapped model can (else ``on_text`` is never called)."""
        streaming = getattr(self._model, "complete_streaming", None)
        if streaming is None:
            return await self.complete(messages, json_mode=json_mode, json_schema=json_schema)
        return await self._spend(lambda: streaming(messages, on_text=on_text, json_mode=json_mode,
                                                   json_schema=json_schema))

    async def _spend(self, ask: Callable[[], Awaitable[ChatResult]]) -> ChatResult:
        for attempt in range(1, self._max_throttled + 1):
            call = await self._budget.acquire()
            metrics.LLM_BUDGET.labels(self._agent).set(self._budget.limit)
            try:
                with tracing.span(f"llm {self._agent}", kind="client", agent=self._agent, attempt=attempt):
                    result = await ask()
            except RateLimited:
                metrics.LLM_CALLS.labels(self._agent, "rate_limited").inc()
                self._budget.throttled()
                if attempt == self._max_throttled:
                    raise
                continue
            except Exception:
                metrics.LLM_CALLS.labels(self._agent, "error").inc()
                raise
            finally:
                self._budget.done(call)
            metrics.LLM_CALLS.labels(self._agent, "ok").inc()
            used = result.usage.input_tokens + result.usage.output_tokens
            metrics.LLM_TOKENS.labels(self._agent).inc(used)
            self._budget.spend(used)
            return result
        raise AssertionError("unreachable: the loop returns or raises")


class BudgetSettings(Protocol):
    """The settings a model budget reads (``bot.settings.Settings`` has them)."""

    @property
    def llm_rpm(self) -> int: ...
    @property
    def llm_tpm(self) -> int: ...
    @property
    def llm_processes(self) -> int: ...
    @property
    def llm_budget_window_s(self) -> float: ...


def budget_retry(settings: BudgetSettings, retry: RetryPolicy) -> RetryPolicy:
    """The provider's own retry policy: with a budget, 429s are left to :class:`BudgetedChat`."""
    if not (settings.llm_rpm or settings.llm_tpm):
        return retry
    return dataclasses.replace(retry, retry_statuses=retry.retry_statuses - {429})


def budgeted(model: ChatModel, settings: BudgetSettings, agent: str) -> ChatModel:
    """``model`` spending this process's share of the agent type's budget, its calls counted in metrics."""
    budget = ModelBudget(share(settings.llm_rpm, settings.llm_processes),
                         share(settings.llm_tpm, settings.llm_processes), window_s=settings.llm_budget_window_s)
    limited = bool(settings.llm_rpm or settings.llm_tpm)
    # Without a budget the provider retries 429s itself (with back-off): one pass here, counted only.
    return BudgetedChat(model, budget, agent=agent, max_throttled=6 if limited else 1)
