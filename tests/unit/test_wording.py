"""Both languages word the same things: every step kind, state, phase and outcome a surface shows."""

from __future__ import annotations

from bot.models import Phase, SessionStatus, StepStatus
from bot.schemas import Language
from bot.wire import StepKind
from bot.wording import reply_language, wording

STEP_PHASES = (Phase.SENT, Phase.OK, Phase.FAILED, Phase.SLOW)
SHOWN_OUTCOMES = (SessionStatus.COMPLETED, SessionStatus.NEEDS_CLARIFICATION, SessionStatus.FAILED)


def test_each_language_words_every_step_state_and_outcome() -> None:
    for language in Language:
        words = wording(language)
        assert set(words.step_names) == set(StepKind)
        assert set(words.progress_lines) == {(phase, kind) for phase in STEP_PHASES for kind in StepKind}
        assert set(words.step_states) == set(StepStatus)
        assert set(words.outcomes) == set(SHOWN_OUTCOMES)
        assert set(words.headings) == {SessionStatus.RUNNING, *SHOWN_OUTCOMES}
        assert "{destination}" in words.ask_when


def test_the_tables_differ_by_language_and_an_answer_says_its_own() -> None:
    assert wording(Language.ZH).planning != wording(Language.EN).planning
    assert reply_language({"request": {"language": "zh"}}) == Language.ZH
    assert reply_language({"status": "failed"}) == Language.EN  # no request read: English
