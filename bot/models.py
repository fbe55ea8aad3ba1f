"""The core's vocabulary: where a request came from, its session and steps, its answer, its progress.

Shared by the intake, the Supervisor, storage (which only persists these) and the chat adapters (which
only translate them). Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from bot.schemas import Itinerary, Language, TripRequest, WeatherReport
from bot.wire import ErrorKind, StepKind, TravelInput, WeatherInput


class ConversationRef(BaseModel):
    """A reply address: platform, workspace/corp, channel/conversation, thread and requester."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    platform: str  # "cli", "slack", "dingtalk"
    workspace: str = ""
    channel: str = ""
    thread: str = ""
    user: str = ""
    user_name: str = ""
    is_group: bool = False
    reply_webhook: str = ""  # DingTalk sessionWebhook (or Slack response_url)
    webhook_expires_at: datetime | None = None
    status_message: str = ""  # id/ts of the progress message to update, when the platform has one
    streamed: bool = False  # status_message is a chat stream (Slack assistant threads): the answer ends it

    @property
    def key(self) -> str:
        """The conversation (thread) a follow-up must come from to amend the previous plan."""
        return ":".join((self.platform, self.workspace, self.channel, self.thread or self.user))


class InboundMessage(BaseModel):
    """A chat message turned into our terms by an adapter."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    ref: ConversationRef
    event_id: str  # platform event ID (Slack event_id / trigger, DingTalk msgId): the dedupe key
    text: str
    received_at: datetime
    has_attachments: bool = False


class SessionStatus(StrEnum):
    """Where a session stands."""

    RUNNING = "running"
    COMPLETED = "completed"
    NEEDS_CLARIFICATION = "needs_clarification"
    FAILED = "failed"
    CANCELLED = "cancelled"  # the user gave up (Ctrl-C in the terminal): never resumed, never answered


class StepStatus(StrEnum):
    """Where a step stands; OK and FAILED are final."""

    PENDING = "pending"
    SENT = "sent"
    OK = "ok"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Step:
    """One sub-task of a session."""

    step_id: str
    kind: StepKind
    depends_on: tuple[str, ...]
    status: StepStatus
    input: WeatherInput | TravelInput
    deadline: float
    output: WeatherReport | Itinerary | None = None
    error: str = ""
    user_message: str = ""
    error_kind: ErrorKind | None = None

    @property
    def done(self) -> bool:
        """True once the step has a final outcome."""
        return self.status in (StepStatus.OK, StepStatus.FAILED)

    @property
    def weather(self) -> WeatherReport | None:
        """The weather this step produced, once it succeeded."""
        return self.output if self.status == StepStatus.OK and isinstance(self.output, WeatherReport) else None

    @property
    def itinerary(self) -> Itinerary | None:
        """The plan this step produced, once it succeeded."""
        return self.output if self.status == StepStatus.OK and isinstance(self.output, Itinerary) else None


@dataclass(frozen=True, slots=True)
class Session:
    """A request, where it came from, and its steps."""

    task_id: str
    ref: ConversationRef
    request: TripRequest
    status: SessionStatus
    created_at: float
    steps: tuple[Step, ...] = ()
    version: int = 0  # counts committed changes: a write that does not get version + 1 finds a stale copy

    def step(self, step_id: str) -> Step | None:
        """A step by ID."""
        return next((s for s in self.steps if s.step_id == step_id), None)


class OutboxStatus(StrEnum):
    """Delivery state of an answer."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Reply:
    """A final answer: Markdown text for people plus a structured payload (ask --json, Block Kit...)."""

    task_id: str
    ref: ConversationRef
    text: str
    payload: dict[str, Any]
    status: OutboxStatus = OutboxStatus.PENDING
    attempts: int = 0
    parts_sent: int = 0  # messages of this answer the platform already accepted
    in_doubt: bool = False  # an earlier attempt was cut off (crash) after it may have reached the platform
    traceparent: str = ""  # the trace context of the step that finished the session: delivery joins its trace


class Phase(StrEnum):
    """What a progress event reports."""

    SENT = "sent"  # a step's task message was published
    OK = "ok"  # a step's result came back
    FAILED = "failed"  # a step failed (or timed out)
    SLOW = "slow"  # a step has been out for a while (LLM retries)
    QUEUED = "queued"  # a step waits in the broker behind others; detail "position:seconds" (bot.wording.queue)
    FINISHED = "finished"  # the session ended; its answer is in the outbox
    PARTIAL = "partial"  # a step's text so far (an LLM streaming the plan) in detail; never its result


@dataclass(frozen=True, slots=True)
class StepState:
    """One step as a progress surface shows it."""

    kind: StepKind
    status: StepStatus


@dataclass(frozen=True, slots=True)
class Progress:
    """A step went out, came back, or the session finished: everything a surface needs to show it.

    Carries the conversation, the language and the steps so adapters never read storage.
    """

    task_id: str
    phase: Phase
    kind: StepKind | None = None
    detail: str = ""
    ref: ConversationRef | None = None
    language: Language = Language.EN
    request_text: str = ""
    steps: tuple[StepState, ...] = ()
