"""Optional access-key authentication, checked exactly as the client signs (HMAC-SHA1)."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping

_CREDENTIAL = re.compile(r"Credential=([^,/\s]*)")
_SIGNATURE = re.compile(r"Signature=([0-9a-fA-F]+)")


def verify(authorization: str, date_time: str, secrets: Mapping[str, str]) -> bool:
    """True when ``authorization`` is ``MQv2-HMAC-SHA1 Credential=<ak>, ..., Signature=<hex>``
    with hex = HMAC-SHA1(secret of ak, x-mq-date-time). No secrets configured means auth is off."""
    if not secrets:
        return True
    credential, signature = _CREDENTIAL.search(authorization), _SIGNATURE.search(authorization)
    if credential is None or signature is None or not date_time:
        return False
    secret = secrets.get(credential.group(1))
    if secret is None:
        return False
    expected = hmac.new(secret.encode(), date_time.encode(), hashlib.sha1).hexdigest()
    return hmac.compare_digest(expected, signature.group(1).lower())
