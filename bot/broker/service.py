"""``apache.rocketmq.v2.MessagingService`` over the broker engine: protobuf in, protobuf out.

As the real proxy does, every unary RPC ends with gRPC OK and carries its outcome in the body's
``status``; only Telemetry reports errors as gRPC status codes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from bot.broker import auth
from bot.broker.convert import message_from_proto, message_to_proto, settings_reply
from bot.broker.engine import BrokerEngine, ReceiveArgs, wall_ms
from bot.broker.model import Key, TopicType
from bot.broker.protocol import Code, grpc_api, ok, pb, spb, status, timestamp_ms
from bot.broker.validation import Rejected, check_enum, check_group, check_topic

log = logging.getLogger("tourguide.broker")
Context = grpc.aio.ServicerContext[Any, Any]


def _key(resource: Any) -> Key:
    return (resource.resource_namespace, resource.name)


class MessagingService(grpc_api.MessagingServiceServicer):  # type: ignore[misc]
    """Translates each RPC to an engine call and engine errors to status codes."""

    def __init__(self, engine: BrokerEngine) -> None:
        self._engine = engine
        self._config = engine.config

    # --- plumbing ------------------------------------------------------------------------------

    def _client_id(self, context: Context) -> str:
        meta = {k: v for k, v in context.invocation_metadata() or () if isinstance(v, str)}
        if not auth.verify(meta.get("authorization", ""), meta.get("x-mq-date-time", ""), self._config.auth):
            raise Rejected(Code.UNAUTHORIZED, "signature mismatch or unknown access key")
        client_id = meta.get("x-mq-client-id", "")
        if not client_id:
            raise Rejected(Code.CLIENT_ID_REQUIRED, "x-mq-client-id is required")
        return client_id

    async def _answer(self, response: Callable[..., Any], work: Awaitable[dict[str, Any]]) -> Any:
        try:
            return response(status=ok(), **await work)
        except Rejected as exc:
            return response(status=status(exc.code, exc.message))
        except Exception as exc:
            log.exception("broker request failed")
            return response(status=status(Code.INTERNAL_SERVER_ERROR, str(exc)))

    def _queues(self, topic: Any, endpoints: Any, count: int, accepts: tuple[int, ...]) -> list[Any]:
        broker = pb.Broker(name=self._config.broker_name, id=0, endpoints=endpoints)
        return [
            pb.MessageQueue(topic=topic, id=i, permission=pb.READ_WRITE, broker=broker, accept_message_types=accepts)
            for i in range(count)
        ]

    # --- routing and clients -------------------------------------------------------------------

    async def QueryRoute(self, request: Any, context: Context) -> Any:
        """Route: the topic's queues, with the caller's own endpoints as the broker address."""

        async def work() -> dict[str, Any]:
            self._client_id(context)
            check_topic(request.topic.name)
            topic = await self._engine.catalog.topic(_key(request.topic), create=TopicType.MIXED)
            # Echoing the request's endpoints keeps the client on one reachable channel.
            return {"message_queues": self._queues(request.topic, request.endpoints, topic.queues, topic.accepts)}

        return await self._answer(spb.QueryRouteResponse, work())

    async def QueryAssignment(self, request: Any, context: Context) -> Any:
        """Assignment: one queue (id -1) for concurrent groups, every queue for FIFO groups."""

        async def work() -> dict[str, Any]:
            self._client_id(context)
            check_topic(request.topic.name)
            check_group(request.group.name)
            group = await self._engine.catalog.group(_key(request.group))
            topic = await self._engine.catalog.topic(_key(request.topic))
            ids = list(range(topic.queues)) if group.fifo else [-1]
            broker = pb.Broker(name=self._config.broker_name, id=0, endpoints=request.endpoints)
            queues = [
                pb.MessageQueue(
                    topic=request.topic,
                    id=i,
                    permission=pb.READ_WRITE,
                    broker=broker,
                    accept_message_types=topic.accepts,
                )
                for i in ids
            ]
            return {"assignments": [pb.Assignment(message_queue=q) for q in queues]}

        return await self._answer(spb.QueryAssignmentResponse, work())

    async def Heartbeat(self, request: Any, context: Context) -> Any:
        """Heartbeat: keeps the client (and its auto-renewed messages) alive."""

        async def work() -> dict[str, Any]:
            client_id = self._client_id(context)
            check_enum(pb.ClientType, request.client_type, Code.UNRECOGNIZED_CLIENT_TYPE, "client type")
            session = self._engine.clients.touch(client_id, wall_ms())
            if request.client_type:
                session.client_type = request.client_type
            return {}

        return await self._answer(spb.HeartbeatResponse, work())

    async def NotifyClientTermination(self, request: Any, context: Context) -> Any:
        """Termination: release the client's messages and lite subscriptions."""

        async def work() -> dict[str, Any]:
            self._engine.release(self._client_id(context))
            return {}

        return await self._answer(spb.NotifyClientTerminationResponse, work())

    async def Telemetry(self, request_iterator: AsyncIterator[Any], context: Context) -> None:
        """Settings handshake: every settings command is answered with the merged server settings."""
        try:
            client_id = self._client_id(context)
        except Rejected as exc:
            # A status rather than abort(): the guard lets the client finish sending first, or its own
            # grpc core reports INTERNAL instead of this code.
            context.set_code(grpc.StatusCode.UNAUTHENTICATED)
            context.set_details(exc.message)
            return
        # The 5.1.2 push consumer stops reading after the first reply (client bug), so replies go
        # through a small queue and are dropped when it is full instead of blocking this reader.
        replies: asyncio.Queue[Any] = asyncio.Queue(maxsize=8)
        writer = asyncio.create_task(self._write_replies(context, replies))
        session = self._engine.clients.touch(client_id, wall_ms(), revive=True)
        session.telemetry_streams += 1
        try:
            async for command in request_iterator:
                if command.HasField("settings"):
                    reply = await self._settings(client_id, command.settings)
                    with contextlib.suppress(asyncio.QueueFull):
                        replies.put_nowait(reply)
        except (asyncio.CancelledError, grpc.aio.AioRpcError):
            pass
        finally:
            writer.cancel()
            session.telemetry_streams -= 1
            if session.telemetry_streams <= 0:
                self._engine.release(client_id)

    async def _settings(self, client_id: str, settings: Any) -> Any:
        try:
            group, topics = None, []
            if settings.HasField("subscription"):
                group = _key(settings.subscription.group)
                topics = [_key(e.topic) for e in settings.subscription.subscriptions]
            check_enum(pb.ClientType, settings.client_type, Code.UNRECOGNIZED_CLIENT_TYPE, "client type")
            info = await self._engine.register(client_id, settings.client_type, group, topics)
            return spb.TelemetryCommand(status=ok(), settings=settings_reply(settings, info, self._config))
        except Rejected as exc:
            return spb.TelemetryCommand(status=status(exc.code, exc.message))

    @staticmethod
    async def _write_replies(context: Context, replies: asyncio.Queue[Any]) -> None:
        with contextlib.suppress(Exception):
            while True:
                await context.write(await replies.get())


    # --- produce -------------------------------------------------------------------------------

    async def SendMessage(self, request: Any, context: Context) -> Any:
        """Send: validate and store each message; one result entry per message."""
        try:
            self._client_id(context)
        except Rejected as exc:
            return spb.SendMessageResponse(status=status(exc.code, exc.message))
        entries = [await self._send_one(m) for m in request.messages]
        codes = {e.status.code for e in entries}
        if not entries:
            top = status(Code.BAD_REQUEST, "no message")
        elif len(codes) == 1:
            top = entries[0].status
        else:
            top = status(Code.MULTIPLE_RESULTS)
        return spb.SendMessageResponse(status=top, entries=entries)

    async def _send_one(self, message: Any) -> Any:
        try:
            result = await self._engine.send(message_from_proto(message, self._config))
            return spb.SendResultEntry(status=ok(), message_id=result.message_id, offset=result.offset)
        except Rejected as exc:
            code = exc.code
            if code == Code.TOPIC_NOT_FOUND:
                # Apache RocketMQ's proxy checks the topic's message type before anything else, and a topic
                # it cannot find has none (the client learns TOPIC_NOT_FOUND from QueryRoute first).
                code = Code.MESSAGE_PROPERTY_CONFLICT_WITH_TYPE
            message_id = message.system_properties.message_id
            return spb.SendResultEntry(status=status(code, exc.message), message_id=message_id)

    # --- consume -------------------------------------------------------------------------------

    async def ReceiveMessage(self, request: Any, context: Context) -> AsyncIterator[Any]:
        """Receive: status, then the messages, then the delivery timestamp (the proxy's order)."""
        try:
            deliveries = await self._engine.receive(self._receive_args(request, context))
        except Rejected as exc:
            deliveries, code, text = [], exc.code, exc.message
        else:
            code, text = (Code.OK, "") if deliveries else (Code.MESSAGE_NOT_FOUND, "no new message")
        try:
            yield spb.ReceiveMessageResponse(status=status(code, text))
            for delivery, handle in deliveries:
                yield spb.ReceiveMessageResponse(message=message_to_proto(delivery, handle, self._config))
            yield spb.ReceiveMessageResponse(delivery_timestamp=timestamp_ms(wall_ms()))
        except BaseException:
            self._engine.unpop(deliveries)  # the stream broke: the client never saw these
            raise

    def _receive_args(self, request: Any, context: Context) -> ReceiveArgs:
        client_id = self._client_id(context)
        session = self._engine.clients.get(client_id)
        if session is None or not session.has_settings:
            # As Apache RocketMQ's proxy ("settings is null"): a receive needs the client's telemetry settings
            # (a restarted broker knows nobody until the clients send them again).
            raise Rejected(Code.INTERNAL_SERVER_ERROR, "the client's settings have not arrived over telemetry")
        check_group(request.group.name)
        check_topic(request.message_queue.topic.name)
        cfg = self._config
        invisible = request.invisible_duration.ToMilliseconds() / 1000
        if not request.auto_renew and not cfg.min_invisible_s <= invisible <= cfg.max_invisible_s:
            raise Rejected(Code.ILLEGAL_INVISIBLE_TIME, f"invisible duration {invisible}s is out of range")
        tags = None
        expr = request.filter_expression
        check_enum(pb.FilterType, expr.type, Code.ILLEGAL_FILTER_EXPRESSION, "filter type")
        if expr.type == pb.SQL:
            raise Rejected(Code.ILLEGAL_FILTER_EXPRESSION, "SQL92 filters are not supported")
        if expr.expression.strip() not in ("", "*"):
            tags = frozenset(t.strip() for t in expr.expression.split("||") if t.strip())
        return ReceiveArgs(
            client_id,
            _key(request.group),
            _key(request.message_queue.topic),
            tags,
            min(max(1, request.batch_size), cfg.max_batch),  # larger batches are served 32 at a time, as by the proxy
            request.auto_renew,
            invisible,
            self._polling_s(request, context),
            gone=context.cancelled,  # a long poll of a killed client ends instead of popping for it
        )

    def _polling_s(self, request: Any, context: Context) -> float:
        cfg = self._config
        remaining: float | None = context.time_remaining()
        if request.HasField("long_polling_timeout"):
            wanted = float(request.long_polling_timeout.ToMilliseconds()) / 1000
        else:
            wanted = (remaining or cfg.long_polling_max_s) - 1.5
        polling = min(max(wanted, cfg.long_polling_min_s if cfg.strict else 0.0), cfg.long_polling_max_s)
        if remaining is not None:
            # Always answer before the client's deadline, or it sees DEADLINE_EXCEEDED instead.
            polling = min(polling, remaining - 0.5)
        return max(polling, 0.0)

    async def AckMessage(self, request: Any, context: Context) -> Any:
        """Ack: one result entry per handle."""
        try:
            self._client_id(context)
            check_topic(request.topic.name)
        except Rejected as exc:
            return spb.AckMessageResponse(status=status(exc.code, exc.message))
        entries = []
        for entry in request.entries:
            try:
                await self._engine.ack(entry.receipt_handle)
                st = ok()
            except Rejected as exc:
                st = status(exc.code, exc.message)
            entries.append(
                spb.AckMessageResultEntry(message_id=entry.message_id, receipt_handle=entry.receipt_handle, status=st)
            )
        codes = {e.status.code for e in entries}
        if not entries:
            top = status(Code.BAD_REQUEST, "no receipt handle")
        else:
            top = entries[0].status if len(codes) == 1 else status(Code.MULTIPLE_RESULTS)
        return spb.AckMessageResponse(status=top, entries=entries)

    async def ChangeInvisibleDuration(self, request: Any, context: Context) -> Any:
        """Nack / extend: the message comes back after the given duration, under a new handle."""

        async def work() -> dict[str, Any]:
            self._client_id(context)
            check_topic(request.topic.name)
            seconds = request.invisible_duration.ToMilliseconds() / 1000
            handle = await self._engine.change_invisible_or_dead_letter(request.receipt_handle, seconds)
            return {"receipt_handle": handle}

        return await self._answer(spb.ChangeInvisibleDurationResponse, work())

    async def ForwardMessageToDeadLetterQueue(self, request: Any, context: Context) -> Any:
        """Dead-letter: copy to %DLQ%<group>, then consider the original consumed."""

        async def work() -> dict[str, Any]:
            self._client_id(context)
            await self._engine.forward_to_dlq(request.receipt_handle)
            return {}

        return await self._answer(spb.ForwardMessageToDeadLetterQueueResponse, work())

    async def SyncLiteSubscription(self, request: Any, context: Context) -> Any:
        """Lite subscriptions: partial add/remove or complete sync of a client's lite topics."""

        async def work() -> dict[str, Any]:
            client_id = self._client_id(context)
            check_topic(request.topic.name)
            check_group(request.group.name)
            check_enum(pb.LiteSubscriptionAction, request.action, Code.BAD_REQUEST, "lite subscription action")
            await self._engine.sync_lite(
                client_id, _key(request.group), _key(request.topic), request.action, list(request.lite_topic_set)
            )
            return {}

        return await self._answer(spb.SyncLiteSubscriptionResponse, work())

    # --- not offered ---------------------------------------------------------------------------

    async def EndTransaction(self, request: Any, context: Context) -> Any:
        """Transactions are not offered by the embedded broker."""
        return spb.EndTransactionResponse(status=status(Code.NOT_IMPLEMENTED, "transactions are not supported"))

    async def RecallMessage(self, request: Any, context: Context) -> Any:
        """Recall is not offered (no recall handles are ever issued)."""
        return spb.RecallMessageResponse(status=status(Code.NOT_IMPLEMENTED, "recall is not supported"))

    # Pull and offsets: Apache RocketMQ 5.5's proxy does not implement these methods at all (gRPC
    # UNIMPLEMENTED), so neither do we; the generated servicer's defaults would end in UNKNOWN under grpc.aio.

    async def PullMessage(self, request: Any, context: Context) -> AsyncIterator[Any]:
        """Not offered: gRPC UNIMPLEMENTED."""
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "Method PullMessage is unimplemented")
        yield  # pragma: no cover - makes this an async generator like the other streaming methods

    async def UpdateOffset(self, request: Any, context: Context) -> Any:
        """Not offered: gRPC UNIMPLEMENTED."""
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "Method UpdateOffset is unimplemented")

    async def GetOffset(self, request: Any, context: Context) -> Any:
        """Not offered: gRPC UNIMPLEMENTED."""
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "Method GetOffset is unimplemented")

    async def QueryOffset(self, request: Any, context: Context) -> Any:
        """Not offered: gRPC UNIMPLEMENTED."""
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "Method QueryOffset is unimplemented")
