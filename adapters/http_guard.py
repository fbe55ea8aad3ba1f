"""Guards for the bot's HTTP ingress (Slack HTTP mode, DingTalk callbacks): malformed input is a 4xx.

A fuzz run found 118 of 1,379 malformed requests answered 5xx: Bolt parses the body before it checks
the signature (a non-JSON body, a non-numeric ``X-Slack-Request-Timestamp``), and deeply nested JSON
raised RecursionError. A 5xx tells a platform to retry and a scanner that it found something; neither
is true of input that can never succeed. Here:

* :func:`slack_signature_check` refuses an unsigned or badly signed ``POST /slack/events`` with 401
  before Bolt reads it, so nothing an outsider sends reaches Bolt's parser;
* :func:`malformed_is_client_error` turns a parse error that still escapes a handler into 400, with one
  log line (at most every few seconds) instead of a traceback per request;
* :func:`json_object` parses a body with a nesting limit, for handlers that read JSON themselves.
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger("tourguide.http")

MAX_JSON_DEPTH = 32  # platform payloads nest a handful of levels; more is an attack on the parser
LOG_INTERVAL_S = 10.0
# What a parser raises on bad bytes: bad JSON / form / encoding, a missing field, runaway nesting.
MALFORMED = (ValueError, TypeError, LookupError, UnicodeError, RecursionError, AttributeError, OverflowError)



class _Throttle:
    def __init__(self, interval_s: float = LOG_INTERVAL_S) -> None:
        self._interval_s = interval_s
        self._last = -interval_s
        self._skipped = 0

    def warn(self, text: str, *args: Any) -> None:
        now = time.monotonic()
        if now - self._last < self._interval_s:
            self._skipped += 1
            return
        self._last, skipped, self._skipped = now, self._skipped, 0
        log.warning(text + (f" ({skipped} more not logged)" if skipped else ""), *args)


_malformed_log = _Throttle()


def refuse(status: int, error: str) -> web.Response:
    """A small JSON error answer."""
    return web.json_response({"error": error}, status=status)


@web.middleware
async def malformed_is_client_error(request: web.Request, handler: Handler) -> web.StreamResponse:
    """400 instead of 500 when a request's content makes a handler's parsing fail."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except MALFORMED as exc:
        _malformed_log.warn("malformed %s %s from %s refused: %s", request.method, request.path, request.remote,
                            type(exc).__name__)
        return refuse(400, "malformed request")


def slack_signature_check(signing_secret: str, path: str) -> Middleware:
    """Middleware: ``POST path`` must carry a valid Slack v0 signature and a fresh numeric timestamp, else 401."""
    verifier = SignatureVerifier(signing_secret)

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method == "POST" and request.path == path:
            timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
            signature = request.headers.get("X-Slack-Signature", "")
            # ASCII digits only: int() would also take "٣" or " 12", and SignatureVerifier raises on "abc"
            if not (timestamp.isascii() and timestamp.isdigit()) or not signature:
                return refuse(401, "invalid signature")
            body = await request.read()  # aiohttp keeps it: Bolt reads the same bytes afterwards
            if not verifier.is_valid(body, timestamp, signature):
                return refuse(401, "invalid signature")
            if not slack_payload_ok(body, request.headers.get("Content-Type")):
                _malformed_log.warn("malformed Slack payload from %s refused", request.remote)
                return refuse(400, "malformed payload")
        return await handler(request)

    return check


# Where Bolt's request parsing and middleware call ``.get`` without looking first: the payload's ``event``, a
# few objects inside the event, and ``authorizations`` (a list of objects). ``user`` or ``channel`` are
# strings in some events and objects in others, so they are left to Bolt.
_EVENT_OBJECT_KEYS = ("message", "previous_message", "item")
_COMMAND_FIELDS = ("command", "trigger_id", "user_id", "channel_id")


def slack_payload_ok(body: bytes, content_type: str | None) -> bool:
    """True when ``body`` parses the way Bolt parses it into the shape Bolt relies on.

    Anything else raised AttributeError deep inside Bolt and became a 500. Slack never sends such a body
    (and only Slack can sign one), so it is refused with 400 up front.
    """
    try:
        text = body.decode()
        if json_depth(text) > MAX_JSON_DEPTH:
            return False
        payload: Any = slack_parse_body(text, content_type)
    except MALFORMED:
        return False
    if not isinstance(payload, dict):
        return False
    authorizations = payload.get("authorizations", [])
    if not (isinstance(authorizations, list) and all(isinstance(a, dict) for a in authorizations)):
        return False
    event = payload.get("event", {})
    if not (isinstance(event, dict) and all(isinstance(event.get(k, {}), dict) for k in _EVENT_OBJECT_KEYS)):
        return False
    # What Slack always sends and our listeners read without a default.
    if "command" in payload and not all(isinstance(payload.get(k), str) and payload[k] for k in _COMMAND_FIELDS):
        return False
    return not event.get("user") or all(isinstance(event.get(k), str) and event[k] for k in ("channel", "ts"))


def slack_parse_body(text: str, content_type: str | None) -> Any:
    """Bolt's ``parse_body`` (slack_bolt.request.internals), without the assumption that the result is an object."""
    if not text:
        return {}
    if content_type == "application/json" or text.startswith("{"):
        return json.loads(text)
    params = dict(parse_qsl(text, keep_blank_values=True))
    if "payload" in text:
        return json.loads(params["payload"]) if "payload" in params else {}
    return params


def protect_slack(app: web.Application, signing_secret: str, path: str) -> web.Application:
    """Install both middlewares on Bolt's aiohttp app (before it is started)."""
    app.middlewares.append(malformed_is_client_error)
    app.middlewares.append(slack_signature_check(signing_secret, path))
    return app


def json_depth(text: str) -> int:
    """How deeply ``text``'s JSON arrays and objects nest (brackets inside strings do not count)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def json_object(raw: bytes, max_depth: int = MAX_JSON_DEPTH) -> dict[str, Any] | None:
    """The JSON object in ``raw`` (UTF-8), or None when it is not one or nests deeper than ``max_depth``."""
    try:
        text = raw.decode()
        if json_depth(text) > max_depth:
            return None
        data = json.loads(text)
    except MALFORMED:
        return None
    return data if isinstance(data, dict) else None


class ReplayGuard:
    """Remembers signatures already used while they could still pass the timestamp check.

    A signature that covers only the timestamp (DingTalk's) can be replayed with any body for as long
    as the timestamp is accepted. A pair accepted at ``now`` has a timestamp no older than ``now - window``,
    so it stops passing the check by ``now + 2 * window``: remembering it that long is enough, and
    expiry follows insertion order, so the oldest entries are dropped from the front.
    """

    def __init__(self, window_s: float, clock: Callable[[], float] = time.time, max_entries: int = 200_000) -> None:
        self._keep_s = 2 * window_s
        self._clock = clock
        self._max = max_entries
        self._seen: OrderedDict[tuple[str, str], float] = OrderedDict()

    def first_use(self, timestamp: str, sign: str) -> bool:
        """True the first time a (timestamp, sign) pair is presented; False for a replay."""
        now = self._clock()
        while self._seen and (next(iter(self._seen.values())) <= now or len(self._seen) >= self._max):
            self._seen.popitem(last=False)
        key = (timestamp, sign)
        if key in self._seen:
            return False
        self._seen[key] = now + self._keep_s
        return True

    def __len__(self) -> int:
        return len(self._seen)
