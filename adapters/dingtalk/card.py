"""DingTalk progress as an AI card: delivered when a session starts, then streamed with throttled full updates.

The wire is what dingtalk-stream 0.24.3's ``AICardReplier`` / ``AIMarkdownCardInstance`` send, made with
our async client and the sender's cached access token instead of the SDK's blocking ``requests``:

* start: ``POST /v1.0/card/instances`` (``flowStatus`` PROCESSING) + ``POST /v1.0/card/instances/deliver``
  to ``dtv1.card//IM_GROUP.<openConversationId>`` or ``dtv1.card//IM_ROBOT.<staffId>``;
* first update: ``PUT /v1.0/card/instances`` (``flowStatus`` INPUTING), then every update
  ``PUT /v1.0/card/streaming`` with the whole markdown (``isFull``) under ``msgContent``;
* end: the last streaming call with ``isFinalize`` (``isError`` when the session failed), then
  ``PUT /v1.0/card/instances`` with ``flowStatus`` FINISHED or FAILED.

The card only shows progress: the answer itself still goes through the outbox. Card errors are logged
and never reach the session; a card that cannot be created falls back to the plain "planning…" message.
Every call takes its turn in the bot-wide :class:`CallBudget` and reports a 403 (QPS) to it. A card's
``outTrackId`` is derived from its task ID, so a restarted bot can still finish a card it did not create.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from adapters.dingtalk.budget import CallBudget
from adapters.dingtalk.markdown import for_dingtalk
from adapters.dingtalk.sender import DingTalkSender
from bot.errors import ExternalServiceError, RateLimited
from bot.models import ConversationRef, SessionStatus, StepState, StepStatus
from bot.progress import draft_tail
from bot.schemas import Language
from bot.wording import wording
from bot.wording.queue import queued_line

CONTENT_KEY = "msgContent"  # the markdown variable of DingTalk's AI card templates (and the SDK's)
PROCESSING, INPUTING, FINISHED, FAILED = "1", "2", "3", "5"  # AICardStatus; card params are strings
DRAFT_CHARS = 1500  # of a streamed draft shown on the card: its newest part
CREATE_ATTEMPTS = 4  # creating and delivering a card, through 403s (QPS)

_MARKS = {StepStatus.PENDING: "○", StepStatus.SENT: "→", StepStatus.OK: "✓", StepStatus.FAILED: "✗"}


@dataclass(frozen=True, slots=True)
class CardView:
    """What the card shows for a session now: its markdown, and whether the session is over (and failed)."""

    text: str
    done: bool
    failed: bool


def render(status: SessionStatus, language: Language, steps: Sequence[StepState],
           slow: frozenset[str] = frozenset(), queued: Mapping[str, str] | None = None,
           partial: str = "") -> CardView:
    """The step list with ✓ / → / ✗ under a heading that tells where the session stands; a step whose
    kind is in ``slow`` (the Supervisor reported it out for long: an LLM being retried) says so; while the
    session runs, the plan's draft as the model streams it (``partial``) follows, quoted."""
    words = wording(language)
    shown = status if status in words.headings else SessionStatus.FAILED
    lines = [f"**{words.headings[shown]}**", ""]
    for step in steps:
        name = words.step_names.get(step.kind, step.kind.value)
        note = words.slow_note if step.status == StepStatus.SENT and step.kind.value in slow else ""
        waiting = queued_line(language, (queued or {}).get(step.kind.value, ""))
        if step.status == StepStatus.SENT and waiting:
            note = f" ({waiting.removeprefix('… ')})"  # waiting behind others: where it stands
        lines.append(f"- {_MARKS[step.status]} {name}{note}")
    done = status != SessionStatus.RUNNING
    if partial and not done:  # the answer replaces the draft: the finished card shows only the steps
        lines += ["", *(f"> {line}" for line in draft_tail(partial, DRAFT_CHARS).split("\n"))]
    return CardView("\n".join(lines), done, shown == SessionStatus.FAILED)


def card_id_for(task_id: str) -> str:
    """The outTrackId of a task's card: known to any process, also after a restart."""
    return f"tourguide-{task_id}"


class CardApi:
    """The AI card OpenAPI calls; each raises ExternalServiceError (or RateLimited) when DingTalk refuses."""

    def __init__(self, sender: DingTalkSender, template_id: str, budget: CallBudget) -> None:
        self._sender = sender
        self._template_id = template_id
        self._budget = budget

    async def _call(self, path: str, body: dict[str, Any], method: str = "POST", *,
                    attempts: int = 1) -> dict[str, Any]:
        """One call in the budget's turn; a 403 (QPS) pauses the budget and is retried ``attempts`` times."""
        for attempt in range(1, attempts + 1):
            await self._budget.take()
            try:
                answer = await self._sender.openapi(path, body, method=method)
            except RateLimited:
                self._budget.refused()
                if attempt == attempts:
                    raise
                continue
            self._budget.accepted()
            return answer
        raise AssertionError("unreachable")  # the loop returns or raises

    async def create(self, ref: ConversationRef, text: str, card_id: str) -> str:
        """Create a card showing ``text`` and deliver it into the conversation; returns its outTrackId."""
        # a 403 here is only the QPS: the budget's pause and a retry beat falling back to plain text
        await self._call("/v1.0/card/instances", {
            "cardTemplateId": self._template_id, "outTrackId": card_id, "callbackType": "STREAM",
            "cardData": {"cardParamMap": {CONTENT_KEY: for_dingtalk(text), "flowStatus": PROCESSING}},
            "imGroupOpenSpaceModel": {"supportForward": True}, "imRobotOpenSpaceModel": {"supportForward": True}},
            attempts=CREATE_ATTEMPTS)
        try:
            answer = await self._call("/v1.0/card/instances/deliver", self._delivery(ref, card_id),
                                      attempts=CREATE_ATTEMPTS)
            refused = [r for r in answer.get("result") or [] if isinstance(r, dict) and r.get("success") is False]
            if refused:
                raise ExternalServiceError(f"dingtalk card not delivered: {refused[0].get('errorMsg', refused[0])}")
        except ExternalServiceError:
            with contextlib.suppress(ExternalServiceError):  # nobody sees it, but it must not stay "processing"
                await self.set_status(card_id, FAILED)
            raise
        return card_id

    def _delivery(self, ref: ConversationRef, card_id: str) -> dict[str, Any]:
        if ref.is_group:
            return {"outTrackId": card_id, "userIdType": 1, "openSpaceId": f"dtv1.card//IM_GROUP.{ref.channel}",
                    "imGroupOpenDeliverModel": {"robotCode": self._sender.robot_code}}
        return {"outTrackId": card_id, "userIdType": 1, "openSpaceId": f"dtv1.card//IM_ROBOT.{ref.user}",
                "imRobotOpenDeliverModel": {"spaceType": "IM_ROBOT"}}

    async def set_status(self, card_id: str, status: str, text: str | None = None) -> None:
        """Replace the card's flowStatus (and its content, when given)."""
        params = {"flowStatus": status} if text is None else {"flowStatus": status, CONTENT_KEY: for_dingtalk(text)}
        await self._call("/v1.0/card/instances", {
            "outTrackId": card_id, "cardData": {"cardParamMap": params}}, method="PUT")

    async def stream(self, card_id: str, text: str, *, finalize: bool = False, failed: bool = False) -> None:
        """A full (not appended) streaming update of the card's markdown."""
        await self._call("/v1.0/card/streaming", {
            "outTrackId": card_id, "guid": str(uuid.uuid4()), "key": CONTENT_KEY, "content": for_dingtalk(text),
            "isFull": True, "isFinalize": finalize, "isError": failed}, method="PUT")

