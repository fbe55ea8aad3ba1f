"""The web page's words: every weather condition and source named in each language, figures kept, and the
page's own words in the language its browser prefers."""

from __future__ import annotations

import json
import re
import typing

from bot.schemas import Condition, Language, WeatherSource
from bot.wording.cards import card_labels, card_words
from bot.wording.page import browser_language, page_labels

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


def test_the_page_speaks_the_first_language_we_know_among_the_browsers_preferences() -> None:
    assert browser_language("zh-CN,zh;q=0.9,en;q=0.8") == Language.ZH
    assert browser_language("en-US,en;q=0.9,zh-CN;q=0.8") == Language.EN
    assert browser_language("fr-FR,fr;q=0.9,zh-TW;q=0.8,en;q=0.5") == Language.ZH  # French: we do not speak it
    assert browser_language("en;q=0.2, zh;q=0.7") == Language.ZH  # by quality, not by position
    assert browser_language("zh;q=0") == Language.EN  # q=0: not acceptable
    assert browser_language("") == Language.EN and browser_language("de;q=x") == Language.EN
    assert page_labels(Language.ZH).keys() == page_labels(Language.EN).keys()
    assert page_labels(Language.ZH)["send"] == "发送"
