"""The words of an answer drawn as day cards and a chart (the web page), one table per language.

The page gets them as a ``labels`` dict with each run (:func:`card_labels`) and only fills in figures:
``{p}`` a rain chance, ``{h}`` drive hours, ``{s}`` seconds, ``{min}`` / ``{max}`` temperatures,
``{condition}`` / ``{source}`` / ``{place}`` / ``{time}`` / ``{name}`` / ``{date}`` the words around them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from bot.schemas import Condition, Language, WeatherSource


@dataclass(frozen=True, slots=True)
class CardWords:
    """The card and chart words of one language."""

    locale: str  # a BCP 47 tag for the page's own date formatting (weekday names)
    reading: str  # shown as soon as a request is sent, before its first step goes out
    progress: str  # the list of a run's steps (screen readers)
    working: str  # a run's status until its answer is in
    task: str  # before the task ID in a run's head
    trace: str  # the link to a run's message trace
    took: str  # a finished step's time: ``{s}`` seconds
    conditions: Mapping[Condition, str]  # a day's weather in words ("多云")
    sources: Mapping[WeatherSource, str]  # where a day's figures come from
    rain: str  # a day's rain chance on its card: ``{p}``
    indoor: str
    outdoor: str
    drive: str  # a drive's length on its activity: ``{h}``
    full_text: str  # the folded Markdown answer under the cards
    weather_sentence: str  # a card's weather for screen readers
    activity_sentence: str  # an activity for screen readers: ``{time} {name} {place}``
    drive_sentence: str  # appended to it for a drive: ``{h}``
    chart_title: str
    chart_day: str  # one day of the chart's text for screen readers
    chart_max: str  # legend: the daily maximum line
    chart_min: str  # legend: the daily minimum line
    chart_rain: str  # legend and right axis: the rain-chance bars


EN = CardWords(
    locale="en",
    reading="Reading your request…",
    progress="Progress",
    working="working…",
    task="task",
    trace="trace",
    took="took {s} s",
    conditions={
        Condition.SUNNY: "sunny", Condition.PARTLY_CLOUDY: "partly cloudy", Condition.CLOUDY: "cloudy",
        Condition.FOG: "fog", Condition.DRIZZLE: "drizzle", Condition.RAIN: "rain",
        Condition.HEAVY_RAIN: "heavy rain", Condition.THUNDERSTORM: "thunderstorms", Condition.SNOW: "snow",
    },
    sources={"forecast": "forecast", "climate": "climate average", "offline": "offline estimate"},
    rain="rain {p}%",
    indoor="indoor",
    outdoor="outdoor",
    drive="{h} h drive",
    full_text="Full text",
    weather_sentence="{condition}, {min} to {max} °C, rain chance {p}% ({source})",
    activity_sentence="{time} {name}, {place}",
    drive_sentence=", {h} hours' drive",
    chart_title="Temperature and rain over the trip",
    chart_day="{date}: {min} to {max} °C, rain chance {p}%",
    chart_max="high °C",
    chart_min="low °C",
    chart_rain="rain chance %",
)

ZH = CardWords(
    locale="zh-CN",
    reading="正在理解你的请求…",
    progress="进度",
    working="处理中…",
    task="任务",
    trace="消息轨迹",
    took="用时 {s} 秒",
    conditions={
        Condition.SUNNY: "晴", Condition.PARTLY_CLOUDY: "多云", Condition.CLOUDY: "阴", Condition.FOG: "雾",
        Condition.DRIZZLE: "毛毛雨", Condition.RAIN: "雨", Condition.HEAVY_RAIN: "大雨",
        Condition.THUNDERSTORM: "雷阵雨", Condition.SNOW: "雪",
    },
    sources={"forecast": "天气预报", "climate": "历年同期", "offline": "离线估算"},
    rain="降水 {p}%",
    indoor="室内",
    outdoor="户外",
    drive="车程 {h} 小时",
    full_text="完整文字版",
    weather_sentence="{condition}，{min} 至 {max} °C，降水概率 {p}%（{source}）",
    activity_sentence="{time} {name}，{place}",
    drive_sentence="，车程 {h} 小时",
    chart_title="行程期间的气温与降水",
    chart_day="{date}：{min} 至 {max} °C，降水概率 {p}%",
    chart_max="最高 °C",
    chart_min="最低 °C",
    chart_rain="降水概率 %",
)


def card_words(language: Language) -> CardWords:
    """The table of ``language``."""
    return ZH if language == Language.ZH else EN


def card_labels(language: Language) -> dict[str, Any]:
    """The table of ``language`` as JSON for the page (condition names keyed by their code)."""
    labels = asdict(card_words(language))
    labels["conditions"] = {str(code): name for code, name in labels["conditions"].items()}
    labels["sources"] = dict(labels["sources"])
    return labels
