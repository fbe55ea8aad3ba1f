"""What our RocketMQ clients did with each message, for the per-task trace: published, delivered, acked, nacked.

Open-source RocketMQ 5 records no message trace for gRPC clients, so the clients observe themselves.
Observers are process-wide, like log handlers: the composition root adds one that writes trace rows,
and nothing is observed otherwise. Delivery hops are reported from the client's consumption threads,
so an observer must be thread-safe and quick (hand the hop to the event loop, do no I/O).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from bot.wire import TASK_ID_PATTERN

log = logging.getLogger("tourguide.bus")


@dataclass(frozen=True, slots=True)
class Hop:
    """One thing a client did with one message."""

    event: str  # published | delivered | acked | nacked
    topic: str
    message_id: str
    keys: tuple[str, ...] = ()
    tag: str = ""
    lite_topic: str = ""
    group: str = ""  # consumer group (deliveries)
    attempt: int = 0  # delivery attempt, 1 for the first (deliveries)
    priority: int | None = None
    error: str = ""
    at: float = field(default_factory=time.time)

    @property
    def task_ids(self) -> list[str]:
        """The tasks this message belongs to (their IDs are message keys)."""
        return [k for k in self.keys if TASK_ID_PATTERN.match(k)]

    @property
    def detail(self) -> str:
        """``key=value`` words for the trace: what the timeline shows and searches."""
        parts = [("topic", self.topic), ("lite_topic", self.lite_topic), ("tag", self.tag),
                 ("keys", ",".join(self.keys)), ("msg_id", self.message_id), ("group", self.group),
                 ("attempt", str(self.attempt) if self.attempt else ""),
                 ("priority", "" if self.priority is None else str(self.priority)), ("error", self.error[:200])]
        return " ".join(f"{name}={value}" for name, value in parts if value)


Observer = Callable[[Hop], None]
_observers: list[Observer] = []


@contextlib.contextmanager
def observing(observer: Observer) -> Iterator[None]:
    """Call ``observer`` with every hop of this process's clients inside the block."""
    _observers.append(observer)
    try:
        yield
    finally:
        _observers.remove(observer)


def report(event: str, topic: str, message_id: str, *, keys: Iterable[str] = (), tag: str = "",
           lite_topic: str = "", group: str = "", attempt: int = 0, priority: int | None = None,
           error: str = "") -> None:
    """Tell the observers (never raises: tracing must not break messaging)."""
    if not _observers:
        return
    hop = Hop(event, topic, message_id, tuple(keys), tag, lite_topic, group, attempt, priority, error)
    for observer in list(_observers):
        try:
            observer(hop)
        except Exception:
            log.exception("hop observer failed")
