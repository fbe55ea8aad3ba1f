"""Versioned wire envelopes carried as JSON bodies of RocketMQ messages.

A task message goes from the Supervisor to a worker topic; a result message comes back on the
``WorkerAgentResponse`` lite topic named after the task ID. Parsing failures raise
:class:`bot.errors.WireError` so that consumers can dead-letter the raw bytes.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.errors import WireError
from bot.schemas import Itinerary, Language, TripRequest, WeatherReport

TASK_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
WIRE_VERSION = 1


def new_task_id() -> str:
    """A fresh task ID: valid as a lite topic name and as a message key."""
    return f"task-{uuid.uuid4().hex[:24]}"


class StepKind(StrEnum):
    """Which worker agent a step is for."""

    WEATHER = "weather"
    TRAVEL = "travel"


class WeatherInput(BaseModel):
    """Input of a weather step: where and which days."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["weather"] = "weather"
    request: TripRequest


class TravelInput(BaseModel):
    """Input of a travel step: the request plus the weather facts it must use."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["travel"] = "travel"
    request: TripRequest
    weather: WeatherReport | None = None


StepInput = Annotated[WeatherInput | TravelInput, Field(discriminator="kind")]
StepOutput = Annotated[WeatherReport | Itinerary, Field(union_mode="left_to_right")]


class TaskMessage(BaseModel):
    """Supervisor -> worker: one step of a task."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    version: int = WIRE_VERSION
    task_id: str = Field(pattern=TASK_ID_PATTERN.pattern)
    step_id: str = Field(min_length=1, max_length=64)
    input: StepInput
    reply_lite_topic: str = Field(pattern=TASK_ID_PATTERN.pattern)
    deadline: datetime
    language: Language = Language.EN


class ResultStatus(StrEnum):
    """Outcome of a step."""

    OK = "ok"
    FAILED = "failed"
    PARTIAL = "partial"  # the text so far of a step still running (an LLM streaming); never the step's result


class ErrorKind(StrEnum):
    """Why a step failed; decides what the Supervisor does next."""

    INPUT = "input"  # the request cannot be served as given (unknown place, bad dates): ask the user
    SERVICE = "service"  # an external service failed after its retries
    EXHAUSTED = "exhausted"  # the agent failed on every delivery attempt (the task is dead-lettered)
    EXPIRED = "expired"  # the task's deadline passed before the agent got to it
    TIMEOUT = "timeout"  # the Supervisor stopped waiting for the result


class ResultMessage(BaseModel):
    """Worker -> Supervisor: the outcome of one step."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    version: int = WIRE_VERSION
    task_id: str = Field(pattern=TASK_ID_PATTERN.pattern)
    step_id: str = Field(min_length=1, max_length=64)
    status: ResultStatus
    agent: str = ""
    output: StepOutput | None = None
    error: str = ""
    error_kind: ErrorKind | None = None
    user_message: str = ""  # friendly sentence for the user when status is FAILED
    partial_text: str = ""  # PARTIAL: the whole text so far (a later one replaces it)
    seq: int = 0  # PARTIAL: counts a step's partial results, so a late one never replaces a newer one


def encode(model: BaseModel) -> bytes:
    """Serialize a wire model to its JSON body."""
    return model.model_dump_json().encode("utf-8")


def decode_task(body: bytes) -> TaskMessage:
    """Parse a task body; raises WireError when it is not a valid task."""
    try:
        return TaskMessage.model_validate_json(body)
    except ValidationError as exc:
        raise WireError(f"invalid task message: {exc.error_count()} errors: {exc}") from exc


def decode_result(body: bytes) -> ResultMessage:
    """Parse a result body; raises WireError when it is not a valid result."""
    try:
        return ResultMessage.model_validate_json(body)
    except ValidationError as exc:
        raise WireError(f"invalid result message: {exc.error_count()} errors: {exc}") from exc
