"""The day cards' and chart's words: every weather condition and source named in each language, figures kept."""

from __future__ import annotations

import json
import re
import typing

from bot.schemas import Condition, Language, WeatherSource
from bot.wording.cards import card_labels, card_words

FIGURES = {"took": {"s"}, "rain": {"p"}, "drive": {"h"}, "drive_sentence": {"h"},
           "weather_sentence": {"condition", "min", "max", "p", "source"}, "chart_day": {"date", "min", "max", "p"},
           "activity_sentence": {"time", "name", "place"}}


def test_each_language_names_every_condition_and_source_and_keeps_every_figure() -> None:
    for language in Language:
        words = card_words(language)
        assert set(words.conditions) == set(Condition)
        assert set(words.sources) == set(typing.get_args(WeatherSource))
        for field, placeholders in FIGURES.items():
            assert set(re.findall(r"\{(\w+)\}", getattr(words, field))) == placeholders, (language, field)


def test_the_page_gets_plain_json_keyed_by_condition_code_in_the_request_language() -> None:
    zh = card_labels(Language.ZH)
    assert json.loads(json.dumps(zh)) == zh
    assert zh["conditions"]["partly_cloudy"] == "多云" and zh["reading"] == "正在理解你的请求…"
    en = card_labels(Language.EN)
    assert en["conditions"]["partly_cloudy"] == "partly cloudy" and en["reading"] == "Reading your request…"
    assert zh.keys() == en.keys()
