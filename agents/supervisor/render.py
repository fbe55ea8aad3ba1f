"""Markdown rendering of weather and itineraries, in the user's language."""

from __future__ import annotations

from datetime import date

from bot.schemas import Activity, Condition, Itinerary, ItineraryDay, Language, TripRequest, WeatherDay, WeatherReport

CONDITIONS: dict[Condition, tuple[str, str, str]] = {  # (emoji, zh, en)
    Condition.SUNNY: ("☀️", "晴", "sunny"),
    Condition.PARTLY_CLOUDY: ("🌤", "晴间多云", "partly cloudy"),
    Condition.CLOUDY: ("☁️", "多云/阴", "cloudy"),
    Condition.FOG: ("🌫", "雾", "fog"),
    Condition.DRIZZLE: ("🌦", "毛毛雨", "drizzle"),
    Condition.RAIN: ("🌧", "雨", "rain"),
    Condition.HEAVY_RAIN: ("⛈", "大雨", "heavy rain"),
    Condition.THUNDERSTORM: ("⛈", "雷阵雨", "thunderstorms"),
    Condition.SNOW: ("❄️", "雪", "snow"),
}
SOURCES = {
    "forecast": ("实时预报", "forecast"),
    "climate": ("气候平均值（超出预报范围）", "climate average (beyond the forecast horizon)"),
    "offline": ("离线估算（气候常年值，非实时预报）", "offline estimate from climate normals, not a live forecast"),
}
WEEKDAYS_ZH = "一二三四五六日"
# Markdown / Slack mrkdwn control characters, replaced by their full-width forms in text this module does not
# write itself (LLM-written names, descriptions and notes; places users typed): such text then cannot open a
# link or an image, bold, a heading or a mention on any renderer, and still reads the same.
_INERT = str.maketrans({"*": "＊", "_": "＿", "`": "｀", "[": "［", "]": "］", "<": "＜", ">": "＞", "#": "＃",
                        "|": "｜", "~": "～"})


def inert(text: str) -> str:
    """``text`` as plain inline text: one line, no markup characters."""
    return " ".join(text.split()).translate(_INERT)


def day_label(d: date, lang: Language) -> str:
    """12月2日 周三 / Wed 2 Dec."""
    if lang == Language.ZH:
        return f"{d.month}月{d.day}日 周{WEEKDAYS_ZH[d.weekday()]}"
    return d.strftime("%a %-d %b")


def _typical(day: WeatherDay, lang: Language) -> str:
    """Climate normals of the day's month: a typical range and how many days of the month are wet."""
    temps = f"{day.temp_min_c:.0f}–{day.temp_max_c:.0f}°C"
    rain, snow = day.rain_days or 0, day.snow_days or 0
    if lang == Language.ZH:
        wet = "、".join(part for part in (f"约{rain}天有雨" if rain else "", f"约{snow}天有雪" if snow else "") if part)
        return f"{day.date.month}月常年 {temps}，当月{wet or '很少降水'}"
    wet = " and ".join(part for part in (f"rain on about {rain} days" if rain else "",
                                         f"snow on about {snow} days" if snow else "") if part)
    return f"typical {day.date:%B}: {temps}, {wet or 'little rain or snow'} of the month"


def weather_line(day: WeatherDay, lang: Language) -> str:
    """One bullet for one day's weather (a climate-normal day says what is typical, never that it rains)."""
    if day.source != "forecast" and day.rain_days is not None:
        return f"- {day_label(day.date, lang)}{'：' if lang == Language.ZH else ': '}{_typical(day, lang)}"
    emoji, zh, en = CONDITIONS[day.condition]
    temps = f"{day.temp_min_c:.0f}–{day.temp_max_c:.0f}°C"
    if lang == Language.ZH:
        return f"- {day_label(day.date, lang)}：{emoji} {zh} {temps}，降水概率 {day.precipitation_probability}%"
    return f"- {day_label(day.date, lang)}: {emoji} {en}, {temps}, {day.precipitation_probability}% chance of rain"


def weather_block(report: WeatherReport, lang: Language, place: str = "") -> list[str]:
    """The weather section, with where the figures come from."""
    place = inert(place or report.place.name)
    sources = sorted({d.source for d in report.days})
    labels = "、".join(SOURCES[s][0] for s in sources) if lang == Language.ZH else "; ".join(
        SOURCES[s][1] for s in sources
    )
    head = f"**{place}天气（来源：{labels}）**" if lang == Language.ZH else f"**Weather in {place}** ({labels})"
    normals = [d for d in report.days if d.source != "forecast" and d.rain_days is not None]
    if normals and len(normals) == len(report.days):
        # Every day is a climate normal: one line per month instead of identical lines per day.
        months = {(d.date.year, d.date.month): d for d in reversed(normals)}
        return [head, *(f"- {_typical(d, lang)}" for d in sorted(months.values(), key=lambda d: d.date)),
                *([f"_{inert(report.note)}_"] if report.note else [])]
    lines = [head, *(weather_line(d, lang) for d in report.days)]
    if report.note:
        lines.append(f"_{inert(report.note)}_")
    return lines


def activity_line(a: Activity, lang: Language) -> str:
    """One bullet for one activity."""
    zh = lang == Language.ZH
    if a.drive_hours:
        extra = [f"车程约 {a.drive_hours:g} 小时" if zh else f"{a.drive_hours:g} h drive"]
    else:
        extra = [("室内" if a.indoor else "户外") if zh else ("indoor" if a.indoor else "outdoor")]
    meta = "，".join(extra) if zh else ", ".join(extra)
    desc = f" — {inert(a.description)}" if a.description else ""
    name = inert(a.name)
    return f"- {a.time} **{name}**（{meta}）{desc}" if zh else f"- {a.time} **{name}** ({meta}){desc}"


def day_block(index: int, day: ItineraryDay, lang: Language) -> list[str]:
    """The plan for one day."""
    title = inert(day.title)
    head = f"#### 第{index}天 · {day_label(day.date, lang)} · {title}" if lang == Language.ZH else (
        f"#### Day {index} · {day_label(day.date, lang)} · {title}"
    )
    lines = [head]
    # A climate-normal day whose notes already give the month's typical weather needs no second line.
    typical_in_notes = day.weather is not None and day.weather.source != "forecast" and (
        "常年" in day.notes or "Typical for" in day.notes)
    if day.weather is not None and not typical_in_notes:
        lines.append(weather_line(day.weather, lang).replace("- ", "", 1))
    lines += [activity_line(a, lang) for a in day.activities]
    if day.notes:
        lines.append(f"_{inert(day.notes)}_")
    return lines


def itinerary_title(request: TripRequest, plan: Itinerary) -> str:
    """The headline of a plan."""
    start, end, days, place = request.start_date, request.end_date, len(plan.days), inert(plan.destination)
    if request.language == Language.ZH:
        return f"### {place} {days} 天行程（{start} 至 {end}）"
    return f"### {days}-day plan for {place} ({start} to {end})"


def _preamble(request: TripRequest, plan: Itinerary) -> list[str]:
    """What understanding assumed (a holiday's dates) and how the plan was made, each on one short line."""
    lines = [f"_{note}_" for note in request.notes]
    if plan.notice:
        lines.append(f"_{plan.notice}_")
    return ["", *lines] if lines else []


def multi_city_markdown(request: TripRequest, plan: Itinerary, reports: list[WeatherReport | None]) -> str:
    """The whole answer for a multi-city trip: one itinerary, every city's weather."""
    lang = request.language
    lines = [itinerary_title(request, plan), *_preamble(request, plan)]
    if plan.summary:
        lines += ["", inert(plan.summary)]
    for leg, report in zip(request.legs, reports, strict=False):
        if report is not None:
            lines += ["", *weather_block(report, lang)]
        else:
            lines += ["", f"_{inert(leg.destination)}的天气暂时无法获取。_" if lang == Language.ZH
                      else f"_No weather for {inert(leg.destination)} right now._"]
    for i, day in enumerate(plan.days, 1):
        lines += ["", *day_block(i, day, lang)]
    if plan.tips:
        lines += ["", "**小贴士**" if lang == Language.ZH else "**Tips**", *(f"- {inert(t)}" for t in plan.tips)]
    return "\n".join(lines)


def itinerary_markdown(request: TripRequest, plan: Itinerary, weather: WeatherReport | None) -> str:
    """The whole answer for an itinerary request."""
    lang = request.language
    lines = [itinerary_title(request, plan), *_preamble(request, plan)]
    if plan.summary:
        lines += ["", inert(plan.summary)]
    if weather is not None:
        lines += ["", *weather_block(weather, lang, plan.destination)]
    else:
        lines += ["", "_天气信息暂时无法获取，行程按常规天气安排，请出发前再查看天气。_" if lang == Language.ZH
                  else "_Weather information was unavailable; the plan assumes typical weather. Check before you go._"]
    for i, day in enumerate(plan.days, 1):
        lines += ["", *day_block(i, day, lang)]
    if plan.tips:
        lines += ["", "**小贴士**" if lang == Language.ZH else "**Tips**", *(f"- {inert(t)}" for t in plan.tips)]
    return "\n".join(lines)


def weather_markdown(request: TripRequest, report: WeatherReport) -> str:
    """The whole answer for a weather-only question."""
    return "\n".join(weather_block(report, request.language))
