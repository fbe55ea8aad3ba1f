"""Access-key signatures: fresh ones pass (as UTC or, like the 5.1.2 Python client sends, local time)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from bot.broker import auth

SECRETS = {"ak": "sk"}
NOW = 1_800_000_000.0


def _authorization(date_time: str, secret: str = "sk") -> str:
    signature = hmac.new(secret.encode(), date_time.encode(), hashlib.sha1).hexdigest()
    return f"MQv2-HMAC-SHA1 Credential=ak, SignedHeaders=x-mq-date-time, Signature={signature}"


def test_fresh_signatures_pass_in_utc_and_in_local_time() -> None:
    utc = auth.date_time(NOW)
    local = datetime.fromtimestamp(NOW).strftime(auth.DATE_TIME_FORMAT)  # what the Python client sends
    assert auth.verify(_authorization(utc), utc, SECRETS, NOW)
    assert auth.verify(_authorization(local), local, SECRETS, NOW)
    assert auth.verify(_authorization(utc), utc, SECRETS, NOW + auth.MAX_SKEW_S - 1)


def test_stale_future_malformed_and_wrong_signatures_fail() -> None:
    old, ahead = auth.date_time(NOW - auth.MAX_SKEW_S - 60), auth.date_time(NOW + auth.MAX_SKEW_S + 60)
    assert not auth.verify(_authorization(old), old, SECRETS, NOW)
    assert not auth.verify(_authorization(ahead), ahead, SECRETS, NOW)
    assert not auth.verify(_authorization("yesterday"), "yesterday", SECRETS, NOW)
    now = auth.date_time(NOW)
    assert not auth.verify(_authorization(now, "wrong"), now, SECRETS, NOW)
    assert auth.verify("", "", {}, NOW)  # no secrets: auth is off
