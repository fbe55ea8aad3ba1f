"""One JSON request over httpx, with every failure classified for :func:`with_retries`.

Shared by the OpenAI-compatible chat client and the Open-Meteo tool: both speak plain JSON
over HTTP, and both want the same answer to "was that a timeout, a 429 or a bad request?".
"""

from __future__ import annotations

import asyncio
import json as json_module
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Self

import httpx

from agents.llm.retry import AttemptFailed, Failure, parse_retry_after


class OwnsHttpClient:
    """An httpx client that is borrowed when given, else created on enter and closed on exit."""

    def __init__(self, http: httpx.AsyncClient | None) -> None:
        self._http = http
        self._owns_http = http is None

    async def __aenter__(self) -> Self:
        if self._http is None:
            self._http = httpx.AsyncClient()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http = None


async def request_json(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    timeout_s: float,
    json: Any = None,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Any:
    """Send one request and return the decoded JSON body.

    Raises AttemptFailed for timeouts (the whole exchange is bounded by ``timeout_s``),
    transport errors, HTTP statuses >= 400 and bodies that are not JSON.
    """
    try:
        async with asyncio.timeout(timeout_s):
            response = await http.request(method, url, json=json, params=params, headers=headers, timeout=timeout_s)
    except (TimeoutError, httpx.TimeoutException) as exc:
        raise AttemptFailed(Failure(None, "timeout", type(exc).__name__, timed_out=True)) from exc
    except httpx.TransportError as exc:
        raise AttemptFailed(Failure(None, "connection", f"{type(exc).__name__}: {exc}")) from exc
    if response.status_code >= 400:
        raise AttemptFailed(failure_from_response(response))
    try:
        return response.json()
    except ValueError as exc:
        raise AttemptFailed(Failure(response.status_code, "bad_body", "response is not JSON")) from exc


async def stream_events(
    http: httpx.AsyncClient,
    url: str,
    *,
    timeout_s: float,
    json: Any,
    headers: Mapping[str, str] | None,
    on_event: Callable[[Any], Awaitable[None]],
) -> None:
    """POST and read a server-sent event stream: each ``data:`` line's JSON goes to ``on_event`` until
    ``[DONE]`` or the end. Raises AttemptFailed like :func:`request_json` (the whole stream within
    ``timeout_s``)."""
    try:
        async with asyncio.timeout(timeout_s), http.stream("POST", url, json=json, headers=headers,
                                                           timeout=timeout_s) as response:
            if response.status_code >= 400:
                await response.aread()
                raise AttemptFailed(failure_from_response(response))
            async for line in response.aiter_lines():
                data = line.removeprefix("data:").strip() if line.startswith("data:") else ""
                if data == "[DONE]":
                    return
                if data:
                    try:
                        event = json_module.loads(data)
                    except ValueError as exc:
                        raise AttemptFailed(Failure(response.status_code, "bad_body", "event is not JSON")) from exc
                    await on_event(event)
    except (TimeoutError, httpx.TimeoutException) as exc:
        raise AttemptFailed(Failure(None, "timeout", type(exc).__name__, timed_out=True)) from exc
    except httpx.TransportError as exc:
        raise AttemptFailed(Failure(None, "connection", f"{type(exc).__name__}: {exc}")) from exc


def failure_from_response(response: httpx.Response) -> Failure:
    """A :class:`Failure` from an error response, reading the common error-body shapes."""
    code, message = error_fields(_json_or_none(response))
    return Failure(
        response.status_code,
        code or response.reason_phrase,
        message or response.text[:200],
        retry_after_s=parse_retry_after(response.headers.get("retry-after")),
    )


def error_fields(body: Any) -> tuple[str, str]:
    """(code, message) from DashScope ``{code, message}``, OpenAI ``{error: {...}}`` or Open-Meteo ``{reason}``."""
    if not isinstance(body, dict):
        return "", ""
    error = body.get("error")
    if isinstance(error, dict):
        body = error
    code = body.get("code") or body.get("type") or ""
    message = body.get("message") or body.get("reason") or ""
    return str(code), str(message)


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
