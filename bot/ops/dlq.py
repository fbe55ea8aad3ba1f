"""``tourguide dlq``: the task messages the agents gave up on, and sending them back after a fix.

Each task group's ``%DLQ%<group>`` is read in a group of its own (``bot.resources.DLQ_READERS``), so
the agents never see it. Listing receives without acking: the messages stay, hidden for 10 s (RocketMQ's
shortest invisible time), which is why a replay takes 11 s: it waits for letters a listing just hid. (A broker
that allows shorter invisible times, like the embedded one configured for a test, can be read with one.)
A replay publishes the task message again to the topic the group reads, with its priority, and acks the
dead letter only then; it is refused, and the dead letter kept, when the step can no longer count:

- the session is unknown, or has ended (completed, failed, cancelled): its answer is out already;
- the step already has a result (the agent reported the failure on its last attempt, as it usually does).

A replayed step that succeeds finishes the session once: the Supervisor records one result per step.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.bus import BusConfig, Publisher
from bot.bus.simple import Received, SimpleReader, TopicMissing
from bot.errors import WireError
from bot.logs import log_context
from bot.models import Session, SessionStatus, Step
from bot.resources import DLQ_PREFIX, DLQ_READERS, GROUPS
from bot.wire import decode_task

log = logging.getLogger("tourguide.dlq")
# The shortest invisible time RocketMQ allows: a listed (or refused) dead letter is hidden this long from the
# next receive, so a replay keeps receiving that long to see letters listed just before.
LIST_INVISIBLE_S = 10

SessionLookup = Callable[[str], Awaitable[Session | None]]
# Dead letters lose their priority (the broker stores them as NORMAL messages): a replay asks the policy again.
Level = Callable[[Session, Step], int]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One dead-lettered task message."""

    group: str  # the task group that gave up on it
    topic: str  # the task topic it came from (and goes back to)
    message_id: str
    task_id: str
    step_id: str
    tag: str
    body: bytes

    def line(self) -> str:
        """One line for ``dlq list``."""
        return f"{self.task_id or '?':<34} {self.step_id or '?':<10} {self.topic:<18} {self.message_id}"


@dataclass(frozen=True, slots=True)
class Replayed:
    """What became of one dead letter in a replay."""

    letter: DeadLetter
    sent: bool
    reason: str  # why it was refused, or "replayed"


def _letter(group: str, received: Received) -> DeadLetter:
    topic = next(g.reads for g in GROUPS if g.name == group)
    envelope = received.envelope
    try:
        task = decode_task(envelope.body)
        task_id, step_id = task.task_id, task.step_id
    except WireError:
        task_id, step_id = next(iter(envelope.keys), ""), ""
    return DeadLetter(group, topic, envelope.message_id, task_id, step_id, envelope.tag, envelope.body)


async def _drain(reader: SimpleReader, group: str, invisible_s: int, settle_s: float = 0.0
                 ) -> list[tuple[DeadLetter, Received]]:
    """Every dead letter visible now; with ``settle_s``, also those that reappear within that time (a listing
    hides what it shows for its invisible time)."""
    found: dict[str, tuple[DeadLetter, Received]] = {}
    until = time.monotonic() + settle_s
    while True:
        batch = await reader.receive(32, invisible_s)
        fresh = [r for r in batch if r.envelope.message_id not in found]
        for received in batch:  # one received again has a new receipt handle: the old one has expired
            found[received.envelope.message_id] = (_letter(group, received), received)
        if not fresh and time.monotonic() >= until:
            return list(found.values())


async def list_dead_letters(bus: BusConfig, *, invisible_s: int = LIST_INVISIBLE_S) -> list[DeadLetter]:
    """Every dead-lettered task message, of every task group."""
    letters: list[DeadLetter] = []
    async with Publisher(bus, _task_topics()):
        pass  # a broker that cannot be reached fails here, not as "no dead letters"
    for group, reader_group in DLQ_READERS.items():
        try:
            async with SimpleReader(bus, reader_group, DLQ_PREFIX + group) as reader:
                letters += [letter for letter, _ in await _drain(reader, group, invisible_s)]
        except TopicMissing:
            continue  # no dead letter in this group yet: its %DLQ% topic exists from the first one on
    return letters


def _task_topics() -> list[str]:
    return sorted({g.reads for g in GROUPS if g.name in DLQ_READERS})


def _refusal(letter: DeadLetter, session: Session | None) -> str:
    if session is None:
        return "no such session (it may have been deleted by retention)"
    if session.status != SessionStatus.RUNNING:
        return f"the session has ended ({session.status.value}); its answer was sent already"
    step = session.step(letter.step_id)
    if step is None:
        return f"the session has no step {letter.step_id!r}"
    if step.done:
        return f"step {letter.step_id} already has a result ({step.status.value})"
    return ""


async def replay(bus: BusConfig, sessions: SessionLookup, level: Level, *, task_id: str | None = None,
                 invisible_s: int = LIST_INVISIBLE_S) -> list[Replayed]:
    """Send dead letters back to their topics (all of them, or one task's); see the module doc for refusals."""
    outcomes: list[Replayed] = []
    async with Publisher(bus, _task_topics()) as publisher:
        for group, reader_group in DLQ_READERS.items():
            try:
                async with SimpleReader(bus, reader_group, DLQ_PREFIX + group) as reader:
                    for letter, received in await _drain(reader, group, invisible_s, invisible_s + 1.0):
                        if task_id is not None and letter.task_id != task_id:
                            continue
                        outcomes.append(await _replay_one(publisher, reader, sessions, level, letter, received))
            except TopicMissing:
                continue
    return outcomes


async def _replay_one(publisher: Publisher, reader: SimpleReader, sessions: SessionLookup, level: Level,
                      letter: DeadLetter, received: Received) -> Replayed:
    with log_context(task_id=letter.task_id, step=letter.step_id):
        session = await sessions(letter.task_id) if letter.task_id else None
        reason = _refusal(letter, session) if letter.task_id else "unreadable task message"
        step = session.step(letter.step_id) if session is not None else None
        if reason or session is None or step is None:
            log.info("dead letter not replayed: %s", reason)
            return Replayed(letter, False, reason)
        await publisher.publish(letter.topic, letter.body, keys=[letter.task_id], tag=letter.tag or None,
                                priority=level(session, step))
        await reader.ack(received)  # only now: a crash in between replays it again, which the Supervisor dedupes
        log.info("dead letter replayed to %s", letter.topic)
        return Replayed(letter, True, "replayed")
