"""Who is connected: client sessions, their liveness and their lite-topic subscriptions."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.broker.model import Key
from bot.broker.protocol import pb


@dataclass(slots=True)
class ClientSession:
    """One client process instance, identified by its ``x-mq-client-id``."""

    client_id: str
    client_type: int = pb.CLIENT_TYPE_UNSPECIFIED
    group: Key | None = None
    telemetry_streams: int = 0
    last_seen_ms: int = 0
    lite_topics: set[str] = field(default_factory=set)
    lite_synced_ms: int = 0
    has_settings: bool = False  # its telemetry settings arrived (Apache RocketMQ refuses receives before)

    @property
    def is_lite(self) -> bool:
        """True for lite push/simple consumers."""
        return self.client_type in (pb.LITE_PUSH_CONSUMER, pb.LITE_SIMPLE_CONSUMER)


class ClientRegistry:
    """Tracks client sessions; a client is alive while its telemetry stream is open or it heartbeats."""

    def __init__(self, expiry_ms: int, tombstone_ms: int = 30_000) -> None:
        self._expiry_ms = expiry_ms
        self._tombstone_ms = tombstone_ms
        self._clients: dict[str, ClientSession] = {}
        self._released: dict[str, int] = {}  # client ID -> when its session was removed
        self._now_ms = 0

    def touch(self, client_id: str, now_ms: int, *, revive: bool = False) -> ClientSession:
        """The session of a client, created on first sight; refreshes its last-seen time.

        A client removed within the last ``tombstone_ms`` is not brought back by a late RPC of its own
        (a kill -9 leaves receives and acks in flight): it gets a detached session that
        :meth:`is_current` reports as not current, unless ``revive`` (a new telemetry stream or settings
        handshake: the process is really there). Otherwise such an RPC would re-create the session, keep a
        dead consumer "alive" for the whole expiry and let it pop messages it never processes.
        """
        self._now_ms = now_ms
        session = self._clients.get(client_id)
        if session is None:
            removed = self._released.get(client_id)
            if removed is not None and not revive and now_ms - removed < self._tombstone_ms:
                return ClientSession(client_id, last_seen_ms=now_ms)
            self._released.pop(client_id, None)
            session = self._clients[client_id] = ClientSession(client_id)
        session.last_seen_ms = now_ms
        return session

    def is_current(self, session: ClientSession) -> bool:
        """False for a detached session (its client was removed) or one replaced since."""
        return self._clients.get(session.client_id) is session

    def get(self, client_id: str) -> ClientSession | None:
        """The session of a client, if known."""
        return self._clients.get(client_id)

    def remove(self, client_id: str) -> ClientSession | None:
        """Forget a client (terminated or expired); its late RPCs do not bring it back (see :meth:`touch`)."""
        self._released[client_id] = self._now_ms
        cutoff = self._now_ms - self._tombstone_ms
        for old in [c for c, at in self._released.items() if at < cutoff]:
            del self._released[old]
        return self._clients.pop(client_id, None)

    def is_alive(self, client_id: str) -> bool:
        """True while the client holds a telemetry stream or heartbeated recently."""
        session = self._clients.get(client_id)
        if session is None:
            return False
        return session.telemetry_streams > 0 or self._now_ms - session.last_seen_ms < self._expiry_ms

    def set_clock(self, now_ms: int) -> None:
        """Advance the registry's notion of now (used by liveness checks)."""
        self._now_ms = max(self._now_ms, now_ms)

    def expired(self, now_ms: int) -> list[str]:
        """Clients neither streaming nor heard from within the expiry."""
        self.set_clock(now_ms)
        return [c for c in self._clients if not self.is_alive(c)]

    def lite_subscribers(self, group: Key) -> list[ClientSession]:
        """Lite sessions of a group."""
        return [s for s in self._clients.values() if s.group == group and s.is_lite]

    def __len__(self) -> int:
        return len(self._clients)
