"""One retry policy type, as data: how many attempts, and how long to wait between them.

Used by every HTTP client of the agents (LLM providers, Open-Meteo: ``agents.llm.retry.with_retries``) and
by the reply outbox (``bot.delivery.OutboxSender``, with :data:`DELIVERY_RETRY`). The waits grow
exponentially from ``initial_backoff_s`` up to ``max_backoff_s``, spread by ``jitter`` so replicas throttled
together do not retry in lockstep; a server's Retry-After is honoured when longer, and a rate-limited attempt
waits at least ``rate_limited_floor_s``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a failed call is retried."""

    max_attempts: int = 4
    initial_backoff_s: float = 0.5
    max_backoff_s: float = 8.0
    multiplier: float = 2.0
    jitter: float = 0.25  # +-25 %
    honour_retry_after: bool = True
    rate_limited_floor_s: float = 0.0  # a rate-limited attempt waits at least this long, even past the cap
    retry_statuses: frozenset[int] = field(default=TRANSIENT_STATUSES)  # HTTP statuses worth another attempt

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.initial_backoff_s < 0 or self.multiplier < 1:
            raise ValueError("RetryPolicy needs max_attempts >= 1, backoff >= 0 and multiplier >= 1")
        if not 0 <= self.jitter < 1:
            raise ValueError("RetryPolicy.jitter must be in [0, 1)")

    def retries_status(self, status: int | None) -> bool:
        """True for no HTTP answer at all (timeout, dropped connection) and the retryable statuses."""
        return status is None or status in self.retry_statuses

    def gives_up(self, attempts: int) -> bool:
        """True once ``attempts`` attempts failed and none is left."""
        return attempts >= self.max_attempts

    def delay_s(self, attempt: int, retry_after_s: float | None = None, *, rate_limited: bool = False) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        delay = self.initial_backoff_s * self.multiplier ** max(attempt - 1, 0)
        delay *= 1 + random.uniform(-self.jitter, self.jitter)
        if self.honour_retry_after and retry_after_s is not None:
            delay = max(delay, retry_after_s)
        delay = min(delay, self.max_backoff_s)
        return max(delay, self.rate_limited_floor_s) if rate_limited else delay


# An answer to a chat platform: patient (a platform outage can last minutes), a rate limit waits a minute.
DELIVERY_RETRY = RetryPolicy(max_attempts=8, initial_backoff_s=2.0, max_backoff_s=300.0, jitter=0.0,
                             rate_limited_floor_s=60.0)
