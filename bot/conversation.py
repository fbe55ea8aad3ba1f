"""Where a request came from and where its answer goes: shared by adapters, the Supervisor and storage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from bot.wire import StepKind


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


@dataclass(frozen=True, slots=True)
class Progress:
    """A step went out, came back, or the session finished: for progress messages in chat."""

    task_id: str
    phase: str  # "sent", "ok", "failed", "finished"; "slow": a step has been out for a while (LLM retries)
    kind: StepKind | None = None
    detail: str = ""
