"""Text the bot did not write itself is never markup: LLM-written plans and users' words render inert."""

from __future__ import annotations

import re
from datetime import date

import adapters.slack.blocks as slack_blocks
import adapters.slack.status as slack_status
from adapters.dingtalk.sender import split_markdown
from agents.supervisor.compose import unknown_place
from agents.supervisor.render import inert, itinerary_markdown
from bot.schemas import Activity, Itinerary, ItineraryDay, Language, TripRequest

HOSTILE = "<!channel> <@U0BOSS> [click](http://evil.example) ![x](http://evil.example/p.png) **bold** `code`"


def _plan() -> Itinerary:
    day = ItineraryDay(
        date=date(2026, 12, 2), title="Day of <!here>\n# Injected heading",
        activities=(Activity(time="09:00", name=HOSTILE, description="line one\n- injected bullet | a | b |"),),
        notes="_stay_ <https://evil.example|safe link>",
    )
    return Itinerary(destination="Kyoto <!everyone>", days=(day,), summary="**Trust me** [here](http://e.example)",
                     tips=("~~nothing~~ <!subteam^S1>",))


def _request() -> TripRequest:
    return TripRequest.model_validate({
        "text": "3 days in Kyoto", "language": Language.EN, "destination": "Kyoto",
        "start_date": date(2026, 12, 2), "end_date": date(2026, 12, 2)})


def test_inert_text_has_no_markup_characters_and_stays_on_one_line() -> None:
    text = inert(HOSTILE + "\n# heading")
    assert not re.search(r"[<>\[\]*_`#|~\n]", text)
    assert "channel" in text and "click" in text and "heading" in text  # still readable


def test_llm_written_plan_renders_without_links_mentions_or_injected_structure() -> None:
    markdown = itinerary_markdown(_request(), _plan(), None)
    assert "](" not in markdown.replace("］(", "")  # no Markdown link or image survives
    assert "<" not in markdown and ">" not in markdown
    assert "# Injected" not in markdown and "\n- injected" not in markdown
    for part in split_markdown(markdown):  # DingTalk gets the same inert text
        assert "[click](" not in part and "<!channel>" not in part


def test_slack_messages_never_carry_mentions_from_answers_or_requests() -> None:
    for message in slack_blocks.render(f"### Plan\n\nsay {HOSTILE} & more"):
        texts = [message.text, *(b["text"]["text"] for b in message.blocks)]
        assert all("<!" not in t and "<@" not in t and "<http" not in t for t in texts)
        assert any("&lt;!channel&gt;" in t for t in texts) and any("&amp; more" in t for t in texts)
    status = slack_status.planning("U1", "<!channel> <@U0BOSS> 3 days in Kyoto", Language.EN, show_request=True)
    assert status.startswith("<@U1> ")  # our own mention of the asker stays a mention
    assert "<!channel>" not in status and "<@U0BOSS>" not in status and "&lt;!channel&gt;" in status


def test_a_place_the_user_typed_is_echoed_inert() -> None:
    request = _request().model_copy(update={"destination": "[win](http://evil.example) <!channel>"})
    text = unknown_place(request)
    assert "](" not in text and "<" not in text and "win" in text
