"""RetryPolicy (LLM calls and the reply outbox) and the final error mapping, without any server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from agents.llm.retry import Failure, final_error, parse_retry_after
from bot.errors import ConfigError, ExternalServiceError, RateLimited, ServiceTimeout
from bot.retry import DELIVERY_RETRY, RetryPolicy


def test_backoff_grows_and_is_capped() -> None:
    policy = RetryPolicy(initial_backoff_s=0.5, multiplier=2, max_backoff_s=3, jitter=0)
    assert [policy.delay_s(n, None) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 3.0]


def test_retry_after_wins_when_longer_but_stays_capped() -> None:
    policy = RetryPolicy(initial_backoff_s=0.5, max_backoff_s=8, jitter=0)
    assert policy.delay_s(1, 5.0) == 5.0
    assert policy.delay_s(1, 60.0) == 8.0
    assert RetryPolicy(honour_retry_after=False, jitter=0).delay_s(1, 5.0) == 0.5


def test_only_transient_failures_are_retried() -> None:
    policy = RetryPolicy()
    assert all(policy.retries_status(status) for status in (None, 429, 500, 502, 503, 504))
    assert not any(policy.retries_status(status) for status in (400, 401, 403, 404))


def test_delivery_backs_off_to_minutes_and_waits_a_minute_after_a_rate_limit() -> None:
    assert [DELIVERY_RETRY.delay_s(n) for n in (1, 2, 3, 9, 20)] == [2.0, 4.0, 8.0, 300.0, 300.0]
    assert DELIVERY_RETRY.delay_s(1, rate_limited=True) == 60.0
    assert DELIVERY_RETRY.delay_s(9, rate_limited=True) == 300.0
    assert not DELIVERY_RETRY.gives_up(7) and DELIVERY_RETRY.gives_up(8)


def test_jitter_stays_within_its_band() -> None:
    policy = RetryPolicy(initial_backoff_s=1.0, jitter=0.25)
    assert all(0.75 <= policy.delay_s(1) <= 1.25 for _ in range(200))


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)


def test_retry_after_header_forms() -> None:
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 < (parse_retry_after(later) or 0) <= 30


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (Failure(429, "Throttling"), RateLimited),
        (Failure(None, timed_out=True), ServiceTimeout),
        (Failure(401, "InvalidApiKey"), ConfigError),
        (Failure(403, "AccessDenied"), ConfigError),
        (Failure(500, "InternalError"), ExternalServiceError),
        (Failure(None, "connection", "ConnectError"), ExternalServiceError),
    ],
)
def test_final_error_mapping(failure: Failure, error: type[Exception]) -> None:
    assert type(final_error("svc", failure, 3)) is error


def test_secrets_are_redacted_from_errors() -> None:
    failure = Failure(401, "InvalidApiKey", "Incorrect API key provided: sk-123456")
    assert "sk-123456" not in str(final_error("svc", failure, 1, secrets=("sk-123456",)))
