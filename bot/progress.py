"""What a progress surface shows of one request, folded from the Supervisor's events.

Events of one request may reach a surface out of order (each is emitted after its own commit); a step's
state only moves forward, so the fold keeps the furthest state any event told.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.models import ConversationRef, Phase, Progress, SessionStatus, StepState, StepStatus
from bot.schemas import Language

_RANK = {StepStatus.PENDING: 0, StepStatus.SENT: 1, StepStatus.OK: 2, StepStatus.FAILED: 2}


@dataclass
class ProgressView:
    """A request as far as its progress events told: where to show it, in which language, its steps."""

    ref: ConversationRef | None = None
    language: Language = Language.EN
    request_text: str = ""
    steps: tuple[StepState, ...] = ()
    slow: set[str] = field(default_factory=set)  # step kinds reported slow (an LLM being retried)
    queued: dict[str, str] = field(default_factory=dict)  # step kind -> "position:seconds" while it waits
    partial: str = ""  # the plan's text so far while an LLM streams it (Phase.PARTIAL); the answer replaces it
    status: SessionStatus = SessionStatus.RUNNING  # the session's end, once a FINISHED event told it

    def apply(self, event: Progress) -> None:
        """Fold one event in."""
        self.ref = event.ref or self.ref
        self.language = event.language
        self.request_text = event.request_text or self.request_text
        self.steps = _furthest(self.steps, event.steps)
        if event.phase == Phase.SLOW and event.kind is not None:
            self.slow.add(event.kind.value)
        if event.phase == Phase.QUEUED and event.kind is not None:
            self.queued[event.kind.value] = event.detail
        if event.phase == Phase.PARTIAL:
            self.partial = event.detail
        if event.phase == Phase.FINISHED:
            self.status = _ended(event.detail)

    @property
    def finished(self) -> bool:
        """A FINISHED event came."""
        return self.status != SessionStatus.RUNNING


def draft_tail(text: str, limit: int) -> str:
    """The end of a streamed draft, at most ``limit`` characters from a line start: the newest part shows."""
    if len(text) <= limit:
        return text
    cut = text[-limit:]
    return "…" + (cut.split("\n", 1)[1] if "\n" in cut else cut)


def _furthest(known: tuple[StepState, ...], told: tuple[StepState, ...]) -> tuple[StepState, ...]:
    if len(told) != len(known) or not known:
        return told or known
    return tuple(new if _RANK[new.status] >= _RANK[old.status] else old for old, new in zip(known, told, strict=True))


def _ended(detail: str) -> SessionStatus:
    """The session's final status, which a FINISHED event carries as its detail."""
    try:
        return SessionStatus(detail)
    except ValueError:
        return SessionStatus.FAILED
