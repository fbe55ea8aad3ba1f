"""The embedded broker process: a grpc.aio server over the engine, owned by ``async with``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from types import TracebackType

import grpc

from bot.broker import provision
from bot.broker.config import BrokerConfig
from bot.broker.engine import BrokerEngine
from bot.broker.errors import BrokerError
from bot.broker.guard import HostileInputGuard
from bot.broker.model import GroupInfo, TopicInfo
from bot.broker.protocol import grpc_api
from bot.broker.provision import GroupSpec, TopicSpec
from bot.broker.rpc_counts import RpcCounter
from bot.broker.service import MessagingService
from bot.broker.store import BrokerStore

log = logging.getLogger("tourguide.broker")
FRAME_HEADROOM_BYTES = 1024 * 1024  # properties (<= 16 KiB), keys, topic, system properties of one send


def receive_limit(config: BrokerConfig) -> int:
    """The largest request frame accepted: one maximal body plus headroom for everything around it."""
    return config.max_body_bytes + FRAME_HEADROOM_BYTES


class EmbeddedBroker:
    """A single-node RocketMQ 5 endpoint persisted to SQLite.

    ``async with EmbeddedBroker(config) as broker:`` listens on ``broker.endpoint`` until the
    block exits; port 0 picks a free port. Raises BrokerError when it cannot bind or load.
    """

    def __init__(self, config: BrokerConfig) -> None:
        self.config = config
        self._store = BrokerStore(config.data_dir)
        self.engine = BrokerEngine(config, self._store)
        self._server: grpc.aio.Server | None = None
        self.rpcs = RpcCounter()  # every call received, by method
        self._housekeeping: asyncio.Task[None] | None = None
        self.port = config.port

    @property
    def endpoint(self) -> str:
        """host:port for ClientConfiguration."""
        return f"{self.config.host}:{self.port}"

    async def __aenter__(self) -> EmbeddedBroker:
        await self._store.__aenter__()
        try:
            await self.engine.start()
            self._server = grpc.aio.server(
                interceptors=[self.rpcs, HostileInputGuard()],
                options=[
                    # Near the 4 MiB body limit: a bigger frame is refused by grpc (RESOURCE_EXHAUSTED)
                    # before it is buffered, instead of growing the broker by its size (256 MiB -> 1.1 GB).
                    ("grpc.max_receive_message_length", receive_limit(self.config)),
                    ("grpc.max_send_message_length", -1),
                    ("grpc.so_reuseport", 0),
                ]
            )
            grpc_api.add_MessagingServiceServicer_to_server(MessagingService(self.engine), self._server)
            self.port = self._server.add_insecure_port(self.config.address)
            if self.port == 0:
                raise BrokerError(f"cannot listen on {self.config.address}")
            await self._server.start()
            self._store.announce(self.endpoint)
        except BaseException:
            await self._store.__aexit__(None, None, None)
            raise
        self._housekeeping = asyncio.create_task(self._housekeep(), name="broker-housekeeping")
        log.info("embedded RocketMQ broker listening on %s (data: %s)", self.endpoint, self.config.data_dir or "memory")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._housekeeping:
            self._housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeping
        if self._server:
            await self._server.stop(grace=0.5)
        await self._store.__aexit__(exc_type, exc, tb)
        log.info("embedded broker on %s stopped", self.endpoint)

    async def apply(
        self, topics: list[TopicInfo], groups: list[GroupInfo], subscriptions: dict[str, list[str]]
    ) -> None:
        """Create or update topics and groups; ``subscriptions`` maps a group to the topics it reads."""
        await self.engine.catalog.apply(topics, groups, subscriptions)

    async def provision(self, topics: Sequence[TopicSpec], groups: Sequence[GroupSpec], namespace: str = "") -> None:
        """Create or update an application's declared topics and groups (see :mod:`bot.broker.provision`)."""
        await provision.apply(self.engine.catalog, topics, groups, namespace)

    async def _housekeep(self) -> None:
        while True:
            await asyncio.sleep(self.config.housekeeping_interval_s)
            try:
                await self.engine.housekeeping()
            except Exception:
                log.exception("broker housekeeping failed")
