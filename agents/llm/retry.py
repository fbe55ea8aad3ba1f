"""The one retry loop every HTTP client of the agents uses.

A client makes one *attempt* at a time; an attempt that fails raises :class:`AttemptFailed`
carrying a :class:`Failure` (status, code, message, Retry-After). :func:`with_retries` decides
from the :class:`bot.retry.RetryPolicy` (the type the reply outbox uses too) whether to try again
and, once it gives up, maps the last failure onto the project's error tree:

    429 ........................ RateLimited
    timeout .................... ServiceTimeout
    401 / 403 .................. ConfigError (bad key or no access: retrying cannot help)
    anything else .............. ExternalServiceError
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

from bot.errors import ConfigError, ExternalServiceError, RateLimited, ServiceTimeout, TourGuideError
from bot.retry import RetryPolicy

log = logging.getLogger(__name__)
T = TypeVar("T")

_MAX_DETAIL_CHARS = 300


@dataclass(frozen=True)
class Failure:
    """What went wrong in one attempt; ``status`` is None when no HTTP answer arrived."""

    status: int | None
    code: str = ""
    message: str = ""
    retry_after_s: float | None = None
    timed_out: bool = False


class AttemptFailed(Exception):
    """Raised by a single attempt so that :func:`with_retries` can decide what to do next."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(f"{failure.status} {failure.code}")
        self.failure = failure


async def with_retries(
    attempt: Callable[[], Awaitable[T]], policy: RetryPolicy, *, service: str, secrets: Sequence[str] = ()
) -> T:
    """Run ``attempt`` until it succeeds or ``policy`` gives up.

    Raises RateLimited, ServiceTimeout, ConfigError or ExternalServiceError (see module doc);
    ``secrets`` are blanked out of every message that leaves this function.
    """
    for number in range(1, policy.max_attempts + 1):
        try:
            return await attempt()
        except AttemptFailed as exc:
            failure = exc.failure
            if policy.gives_up(number) or not policy.retries_status(failure.status):
                raise final_error(service, failure, number, secrets) from exc
            delay = policy.delay_s(number, failure.retry_after_s)
            log.warning(
                "%s failed (attempt %d, status %s %s); retrying in %.2f s",
                service,
                number,
                failure.status,
                failure.code,
                delay,
            )
            await asyncio.sleep(delay)
    raise AssertionError("unreachable: the loop returns or raises")


def final_error(service: str, failure: Failure, attempts: int, secrets: Sequence[str] = ()) -> TourGuideError:
    """The project error for ``failure`` after ``attempts`` tries, with secrets redacted."""
    detail = redact(f"{failure.code}: {failure.message}".strip(": "), secrets)[:_MAX_DETAIL_CHARS]
    tries = f"after {attempts} attempt{'s' if attempts > 1 else ''}"
    if failure.timed_out:
        return ServiceTimeout(f"{service} did not answer in time {tries}")
    if failure.status == 429:
        return RateLimited(f"{service} is rate limiting us (HTTP 429 {detail}) {tries}")
    if failure.status in (401, 403):
        return ConfigError(
            f"{service} rejected the credentials (HTTP {failure.status} {detail}): check the API key, "
            "its region/base URL and the model or app permissions"
        )
    if failure.status is None:
        return ExternalServiceError(f"{service} is unreachable ({detail}) {tries}")
    return ExternalServiceError(f"{service} failed with HTTP {failure.status} ({detail}) {tries}")


def redact(text: str, secrets: Sequence[str]) -> str:
    """``text`` with every non-empty secret replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date); None if absent or bad."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
