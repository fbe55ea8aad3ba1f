"""The DingTalk progress card says when a step is slower than usual (an LLM being retried)."""

from __future__ import annotations

import dataclasses
from datetime import date

from adapters.dingtalk.card import render
from agents.supervisor.planner import plan_steps
from bot.models import ConversationRef, Session, SessionStatus, StepState, StepStatus
from bot.schemas import Language, TripRequest

REQUEST = TripRequest(destination="Hangzhou", start_date=date(2026, 12, 2), end_date=date(2026, 12, 6),
                      language=Language.EN, text="Hangzhou")


def test_a_slow_step_is_marked_on_the_card() -> None:
    steps = tuple(dataclasses.replace(s, status=StepStatus.OK if s.kind.value == "weather" else StepStatus.SENT)
                  for s in plan_steps(REQUEST))
    session = Session(task_id="task-1", ref=ConversationRef(platform="dingtalk"), request=REQUEST,
                            status=SessionStatus.RUNNING, created_at=0.0, steps=steps)
    shown = (session.status, session.request.language, [StepState(s.kind, s.status) for s in session.steps])
    assert "slower than usual" not in render(*shown).text
    assert "slower than usual" in render(*shown, frozenset({"travel"})).text
    assert render(*shown, frozenset({"weather"})).text == render(*shown).text  # done steps are not slow
