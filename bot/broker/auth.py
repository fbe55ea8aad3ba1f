"""Optional access-key authentication, checked exactly as the client signs (HMAC-SHA1).

The signature covers only ``x-mq-date-time``, so a captured set of headers would be valid forever;
like the proxy, we accept a signed time only within ``MAX_SKEW_S`` of now. The 5.1.2 Python client
formats its *local* time with a literal ``Z`` (``datetime.now()``), while other clients send UTC, so
the time is compared with both our UTC clock and our local clock: a client in the broker's time zone
(the embedded case) or one sending real UTC is accepted, a stale or far-future signature is not.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime

_CREDENTIAL = re.compile(r"Credential=([^,/\s]*)")
_SIGNATURE = re.compile(r"Signature=([0-9a-fA-F]+)")
DATE_TIME_FORMAT = "%Y%m%dT%H%M%SZ"
MAX_SKEW_S = 5 * 60.0


def verify(authorization: str, date_time: str, secrets: Mapping[str, str], now: float | None = None) -> bool:
    """True when ``authorization`` is ``MQv2-HMAC-SHA1 Credential=<ak>, ..., Signature=<hex>``
    with hex = HMAC-SHA1(secret of ak, x-mq-date-time) and that time is fresh (see the module doc).
    No secrets configured means auth is off."""
    if not secrets:
        return True
    credential, signature = _CREDENTIAL.search(authorization), _SIGNATURE.search(authorization)
    if credential is None or signature is None or not date_time:
        return False
    secret = secrets.get(credential.group(1))
    if secret is None:
        return False
    expected = hmac.new(secret.encode(), date_time.encode(), hashlib.sha1).hexdigest()
    return hmac.compare_digest(expected, signature.group(1).lower()) and is_fresh(date_time, now)


def is_fresh(date_time: str, now: float | None = None) -> bool:
    """True when ``date_time`` (``YYYYMMDDTHHMMSSZ``) is within MAX_SKEW_S of now, read as UTC or local time."""
    try:
        signed = datetime.strptime(date_time, DATE_TIME_FORMAT)
    except ValueError:
        return False
    now = time.time() if now is None else now
    utc_now = datetime.fromtimestamp(now, UTC).replace(tzinfo=None)
    local_now = datetime.fromtimestamp(now)
    return any(abs((signed - clock).total_seconds()) <= MAX_SKEW_S for clock in (utc_now, local_now))


def date_time(now: float | None = None) -> str:
    """The ``x-mq-date-time`` value for ``now`` in UTC (for tests and raw callers)."""
    return datetime.fromtimestamp(time.time() if now is None else now, UTC).strftime(DATE_TIME_FORMAT)
