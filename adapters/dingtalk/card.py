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
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from adapters.dingtalk_sender import DingTalkSender
from bot.errors import ExternalServiceError
from bot.models import ConversationRef, Session, SessionStatus, StepStatus
from bot.schemas import Language

CONTENT_KEY = "msgContent"  # the markdown variable of DingTalk's AI card templates (and the SDK's)
PROCESSING, INPUTING, FINISHED, FAILED = "1", "2", "3", "5"  # AICardStatus; card params are strings

_MARKS = {StepStatus.PENDING: "○", StepStatus.SENT: "→", StepStatus.OK: "✓", StepStatus.FAILED: "✗"}
_STEP_NAMES = {"weather": ("天气", "Weather"), "travel": ("行程", "Itinerary")}
_HEADINGS = {
    SessionStatus.RUNNING: ("🧭 正在规划行程…", "🧭 Planning your trip…"),
    SessionStatus.COMPLETED: ("✅ 规划完成，行程见下方消息", "✅ Done: your plan is below"),
    SessionStatus.NEEDS_CLARIFICATION: ("💬 需要补充信息，请看下方消息", "💬 I need a little more detail: see below"),
    SessionStatus.FAILED: ("⚠️ 没能完成，请看下方说明", "⚠️ I could not finish: see below"),
}


@dataclass(frozen=True, slots=True)
class CardView:
    """What the card shows for a session now: its markdown, and whether the session is over (and failed)."""

    text: str
    done: bool
    failed: bool


_SLOW = ("（比平时慢，AI 可能在重试）", " (slower than usual: the AI may be retrying)")


def render(session: Session, slow: frozenset[str] = frozenset()) -> CardView:
    """The step list with ✓ / → / ✗ under a heading that tells where the session stands; a step whose
    kind is in ``slow`` (the Supervisor reported it out for long: an LLM being retried) says so."""
    zh = session.request.language == Language.ZH
    heading = _HEADINGS[session.status][0 if zh else 1]
    lines = [f"**{heading}**", ""]
    for step in session.steps:
        name = _STEP_NAMES.get(step.kind.value, (step.kind.value, step.kind.value))[0 if zh else 1]
        note = _SLOW[0 if zh else 1] if step.status == StepStatus.SENT and step.kind.value in slow else ""
        lines.append(f"- {_MARKS[step.status]} {name}{note}")
    done = session.status != SessionStatus.RUNNING
    return CardView("\n".join(lines), done, session.status == SessionStatus.FAILED)


class CardApi:
    """The AI card OpenAPI calls; each raises ExternalServiceError (or RateLimited) when DingTalk refuses."""

    def __init__(self, sender: DingTalkSender, template_id: str) -> None:
        self._sender = sender
        self._template_id = template_id

    async def create(self, ref: ConversationRef, text: str) -> str:
        """Create a card showing ``text`` and deliver it into the conversation; returns its outTrackId."""
        card_id = uuid.uuid4().hex
        await self._sender.openapi("/v1.0/card/instances", {
            "cardTemplateId": self._template_id, "outTrackId": card_id, "callbackType": "STREAM",
            "cardData": {"cardParamMap": {CONTENT_KEY: text, "flowStatus": PROCESSING}},
            "imGroupOpenSpaceModel": {"supportForward": True}, "imRobotOpenSpaceModel": {"supportForward": True}})
        answer = await self._sender.openapi("/v1.0/card/instances/deliver", self._delivery(ref, card_id))
        refused = [r for r in answer.get("result") or [] if isinstance(r, dict) and r.get("success") is False]
        if refused:
            raise ExternalServiceError(f"dingtalk card not delivered: {refused[0].get('errorMsg', refused[0])}")
        return card_id

    def _delivery(self, ref: ConversationRef, card_id: str) -> dict[str, Any]:
        if ref.is_group:
            return {"outTrackId": card_id, "userIdType": 1, "openSpaceId": f"dtv1.card//IM_GROUP.{ref.channel}",
                    "imGroupOpenDeliverModel": {"robotCode": self._sender.robot_code}}
        return {"outTrackId": card_id, "userIdType": 1, "openSpaceId": f"dtv1.card//IM_ROBOT.{ref.user}",
                "imRobotOpenDeliverModel": {"spaceType": "IM_ROBOT"}}

    async def set_status(self, card_id: str, status: str, text: str | None = None) -> None:
        """Replace the card's flowStatus (and its content, when given)."""
        params = {"flowStatus": status} if text is None else {"flowStatus": status, CONTENT_KEY: text}
        await self._sender.openapi("/v1.0/card/instances", {
            "outTrackId": card_id, "cardData": {"cardParamMap": params}}, method="PUT")

    async def stream(self, card_id: str, text: str, *, finalize: bool = False, failed: bool = False) -> None:
        """A full (not appended) streaming update of the card's markdown."""
        await self._sender.openapi("/v1.0/card/streaming", {
            "outTrackId": card_id, "guid": str(uuid.uuid4()), "key": CONTENT_KEY, "content": text,
            "isFull": True, "isFinalize": finalize, "isError": failed}, method="PUT")

