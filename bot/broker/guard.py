"""The broker's last line against hostile frames: bytes that are not the RPC's protobuf, and our own bugs.

Left alone, grpc.aio logs a full traceback and answers gRPC UNKNOWN both when a request frame does not
parse and when a servicer raises: 600 garbage frames gave 591 tracebacks. Here a frame that does not
parse is answered INVALID_ARGUMENT and an unexpected exception INTERNAL, each logged as one line at most
every few seconds (with the count of those not logged), so no caller sees UNKNOWN and no peer can flood
the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

log = logging.getLogger("tourguide.broker")

LOG_INTERVAL_S = 10.0
DRAIN_S = 1.0


class _Malformed:
    """Stands in for a request frame that did not parse; the wrapped behaviour refuses it."""


MALFORMED = _Malformed()


class _Throttle:
    """At most one log line per interval per kind; the next line says how many were not logged."""

    def __init__(self, interval_s: float) -> None:
        self._interval_s = interval_s
        self._last: dict[str, float] = {}
        self._skipped: dict[str, int] = {}

    def warn(self, kind: str, text: str, *, exc_info: bool = False) -> None:
        now = time.monotonic()
        if now - self._last.get(kind, -self._interval_s) < self._interval_s:
            self._skipped[kind] = self._skipped.get(kind, 0) + 1
            return
        self._last[kind] = now
        skipped = self._skipped.pop(kind, 0)
        suffix = f" ({skipped} more not logged)" if skipped else ""
        log.warning("%s%s", text, suffix, exc_info=exc_info)


class HostileInputGuard(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """Wraps every method handler: tolerant deserializer, refusal of malformed frames, no UNKNOWN."""

    def __init__(self, log_interval_s: float = LOG_INTERVAL_S) -> None:
        self._throttle = _Throttle(log_interval_s)

    async def intercept_service(
        self, continuation: Callable[[Any], Awaitable[Any]], handler_call_details: Any
    ) -> Any:
        handler = await continuation(handler_call_details)
        if handler is None:  # unknown method: grpc answers UNIMPLEMENTED itself
            return None
        return self._wrap(handler, str(handler_call_details.method))

    def _wrap(self, handler: Any, method: str) -> Any:
        parse = _tolerant(handler.request_deserializer)
        if handler.unary_unary is not None:
            return handler._replace(request_deserializer=parse, unary_unary=self._unary(handler.unary_unary, method))
        if handler.unary_stream is not None:
            return handler._replace(request_deserializer=parse,
                                    unary_stream=self._unary_stream(handler.unary_stream, method))
        if handler.stream_unary is not None:
            return handler._replace(request_deserializer=parse,
                                    stream_unary=self._streaming(handler.stream_unary, method))
        return handler._replace(request_deserializer=parse,
                                stream_stream=self._streaming(handler.stream_stream, method))

    async def _refuse(self, context: Any, method: str) -> None:
        self._throttle.warn("malformed", f"broker: malformed request frame for {method} from {context.peer()} refused")
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "request frame is not a valid protobuf message")

    async def _fail(self, context: Any, method: str, exc: Exception) -> None:
        # A bug of ours, not the caller's: keep the traceback, but never more than one per interval.
        self._throttle.warn(f"bug:{method}", f"broker: {method} failed: {exc!r}", exc_info=True)
        await context.abort(grpc.StatusCode.INTERNAL, f"internal error: {type(exc).__name__}")

    def _unary(self, inner: Callable[..., Awaitable[Any]], method: str) -> Callable[..., Awaitable[Any]]:
        async def behaviour(request: Any, context: Any) -> Any:
            if request is MALFORMED:
                await self._refuse(context, method)
            try:
                return await inner(request, context)
            except grpc.aio.AbortError:
                raise
            except Exception as exc:
                await self._fail(context, method, exc)

        return behaviour

    def _unary_stream(self, inner: Callable[..., AsyncIterator[Any]], method: str) -> Callable[..., AsyncIterator[Any]]:
        async def behaviour(request: Any, context: Any) -> AsyncIterator[Any]:
            if request is MALFORMED:
                await self._refuse(context, method)
            try:
                async for response in inner(request, context):
                    yield response
            except grpc.aio.AbortError:
                raise
            except Exception as exc:
                await self._fail(context, method, exc)

        return behaviour

    def _streaming(self, inner: Callable[..., Awaitable[Any]], method: str) -> Callable[..., Awaitable[Any]]:
        async def behaviour(requests: AsyncIterator[Any], context: Any) -> Any:
            malformed = False

            async def checked() -> AsyncIterator[Any]:
                # A malformed frame ends the request stream; the status is set once the handler is done.
                # Aborting here, while the handler may be writing a reply, makes grpc core fail the call
                # with INTERNAL (GRPC_CALL_ERROR_TOO_MANY_OPERATIONS) instead.
                nonlocal malformed
                async for request in requests:
                    if request is MALFORMED:
                        malformed = True
                        return
                    yield request

            result = None
            try:
                result = await inner(checked(), context)
            except grpc.aio.AbortError:
                raise
            except Exception as exc:  # a status, not an abort: the handler's writer may still be busy
                self._throttle.warn(f"bug:{method}", f"broker: {method} failed: {exc!r}", exc_info=True)
                context.set_code(grpc.StatusCode.INTERNAL)
                context.set_details(f"internal error: {type(exc).__name__}")
                return None
            # The handler may end before the client stopped sending (a malformed frame, a refused client):
            # read what is still coming (bounded), so the client gets our status and not its core's INTERNAL.
            await _drain(requests)
            if malformed:
                self._throttle.warn("malformed", f"broker: malformed request frame for {method} from "
                                                 f"{context.peer()} refused")
                context.set_code(grpc.StatusCode.INVALID_ARGUMENT)
                context.set_details("request frame is not a valid protobuf message")
            return result

        return behaviour


async def _drain(requests: AsyncIterator[Any]) -> None:
    """Read what the client still sends (bounded), so that it is not cut off mid-write: the client's own
    grpc core would report that as INTERNAL instead of the status we set."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(DRAIN_S):
            async for _ in requests:
                pass


def _tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any]:
    def parse(raw: bytes) -> Any:
        if deserializer is None:
            return raw
        try:
            return deserializer(raw)
        except Exception:  # DecodeError and friends: whatever fails to parse is the peer's doing
            return MALFORMED

    return parse
