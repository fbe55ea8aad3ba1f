"""understand and validate_dates: each field in Chinese and English, bad input, bad dates."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from agents.understanding import AliasIndex, understand, validate_dates
from bot.errors import BadDates, EmptyRequest, InputError, RequestTooLong
from bot.schemas import Budget, Intent, Language, TravelMode, TripRequest


def test_reference_request(now: datetime, places: AliasIndex) -> None:
    req = understand("帮我做一个下周三到下周日杭州周边自驾游方案", now, places)
    assert req == TripRequest(
        intent=Intent.ITINERARY,
        destination="Hangzhou",
        start_date=date(2026, 12, 2),
        end_date=date(2026, 12, 6),
        mode=TravelMode.SELF_DRIVE,
        around=True,
        language=Language.ZH,
        text="帮我做一个下周三到下周日杭州周边自驾游方案",
    )


def test_english_request(now: datetime, places: AliasIndex) -> None:
    req = understand("two nights in Tokyo from Dec 18 for 2 adults, cheap", now, places)
    assert (req.destination, req.start_date, req.end_date) == ("Tokyo", date(2026, 12, 18), date(2026, 12, 20))
    assert (req.travelers, req.budget, req.language) == (2, Budget.LOW, Language.EN)


@pytest.mark.parametrize(
    ("text", "cleaned"),
    [
        ("/trip 3 days in Kyoto next weekend", "3 days in Kyoto next weekend"),
        ("<@U123> weather in Paris", "weather in Paris"),
        ("<@U123|guide>  /trip  Kyoto", "Kyoto"),
        ("@导游 明天上海天气怎么样", "明天上海天气怎么样"),
        ("  去杭州\n玩两天 ", "去杭州 玩两天"),
    ],
)
def test_prefixes_are_stripped(text: str, cleaned: str, now: datetime, places: AliasIndex) -> None:
    assert understand(text, now, places).text == cleaned


@pytest.mark.parametrize(
    ("text", "language"),
    [("明天上海天气怎么样", Language.ZH), ("3 days in Kyoto", Language.EN), ("去Kyoto玩", Language.ZH)],
)
def test_language(text: str, language: Language, now: datetime, places: AliasIndex) -> None:
    assert understand(text, now, places).language is language


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("明天上海天气怎么样", Intent.WEATHER),
        ("杭州这周末会下雨吗", Intent.WEATHER),
        ("京都气温多少", Intent.WEATHER),
        ("weather in Kyoto", Intent.WEATHER),
        ("will it rain in Tokyo tomorrow", Intent.WEATHER),
        ("Shanghai forecast", Intent.WEATHER),
        ("看看天气，帮我安排杭州三天行程", Intent.ITINERARY),
        ("plan 3 days in Kyoto, check the weather", Intent.ITINERARY),
        ("下周末去杭州玩", Intent.ITINERARY),
        ("3 days in Kyoto", Intent.ITINERARY),
    ],
)
def test_intent(text: str, intent: Intent, now: datetime, places: AliasIndex) -> None:
    assert understand(text, now, places).intent is intent


def test_weather_without_dates_covers_three_days(now: datetime, places: AliasIndex) -> None:
    req = understand("上海天气怎么样", now, places)
    assert (req.start_date, req.end_date) == (date(2026, 11, 23), date(2026, 11, 25))


def test_itinerary_without_dates_leaves_them_open(now: datetime, places: AliasIndex) -> None:
    req = understand("帮我规划杭州行程", now, places)
    assert (req.start_date, req.end_date) == (None, None)


@pytest.mark.parametrize(
    ("text", "destination"),
    [
        ("下周去杭州玩", "Hangzhou"),
        ("3 days in kyoto", "Kyoto"),
        ("我想去乌镇玩两天", "乌镇"),
        ("帮我做大理周边游攻略", "大理"),
        ("莫干山自驾游", "莫干山"),
        ("西安旅游攻略", "西安"),
        ("3 days in lisbon next weekend", "Lisbon"),
        ("a trip to new york city for 2 adults", "New York City"),
        ("I want to visit Porto", "Porto"),
        ("weather in reykjavik tomorrow", "Reykjavik"),
        ("asdkjh qwe", None),
        ("next weekend please", None),
    ],
)
def test_destination(text: str, destination: str | None, now: datetime, places: AliasIndex) -> None:
    assert understand(text, now, places).destination == destination


@pytest.mark.parametrize(
    ("text", "around"),
    [("杭州周边", True), ("上海附近", True), ("day trips around Kyoto", True), ("去杭州玩", False)],
)
def test_around(text: str, around: bool, now: datetime, places: AliasIndex) -> None:
    assert understand(text, now, places).around is around


@pytest.mark.parametrize(
    ("text", "travelers"),
    [
        ("一个人去杭州", 1),
        ("两个人去杭州", 2),
        ("我们三个去杭州", 3),
        ("一家三口去杭州", 3),
        ("带爸妈去杭州", 3),
        ("我们两个带爸妈去杭州", 4),
        ("两个大人一个小孩去杭州", 3),
        ("Kyoto for 2 adults", 2),
        ("Kyoto for 4 people", 4),
        ("Kyoto, family of four", 4),
        ("Kyoto for a couple", 2),
        ("solo trip to Kyoto", 1),
        ("2 adults and 1 child in Kyoto", 3),
        ("Kyoto", 1),
        ("Kyoto for 500 people", 1),  # out of range: left at the default, not a validation crash
    ],
)
def test_travelers(text: str, travelers: int, now: datetime, places: AliasIndex) -> None:
    assert understand(text, now, places).travelers == travelers


@pytest.mark.parametrize(
    ("text", "mode"),
    [
        ("杭州自驾", TravelMode.SELF_DRIVE),
        ("开车去杭州", TravelMode.SELF_DRIVE),
        ("到杭州租车玩", TravelMode.SELF_DRIVE),
        ("坐高铁去杭州", TravelMode.PUBLIC_TRANSPORT),
        ("杭州，公共交通", TravelMode.PUBLIC_TRANSPORT),
        ("不开车，杭州", TravelMode.PUBLIC_TRANSPORT),
        ("road trip around Kyoto", TravelMode.SELF_DRIVE),
        ("Kyoto by car", TravelMode.SELF_DRIVE),
        ("Kyoto by train", TravelMode.PUBLIC_TRANSPORT),
        ("Kyoto, subway and bus only", TravelMode.PUBLIC_TRANSPORT),
        ("Kyoto", TravelMode.UNSPECIFIED),
    ],
)
def test_mode(text: str, mode: TravelMode, now: datetime, places: AliasIndex) -> None:
    assert understand(text, now, places).mode is mode


@pytest.mark.parametrize(
    ("text", "budget"),
    [
        ("杭州穷游", Budget.LOW),
        ("杭州，便宜点", Budget.LOW),
        ("杭州豪华游", Budget.HIGH),
        ("杭州，预算中等", Budget.MEDIUM),
        ("cheap trip to Kyoto", Budget.LOW),
        ("Kyoto on a budget", Budget.LOW),
        ("luxury Kyoto trip", Budget.HIGH),
        ("budget trip to Kyoto", Budget.LOW),
        ("moderate budget for Kyoto", Budget.MEDIUM),
        ("Kyoto, mid-range hotels", Budget.MEDIUM),
        ("Kyoto", Budget.UNSPECIFIED),
    ],
)
def test_budget(text: str, budget: Budget, now: datetime, places: AliasIndex) -> None:
    assert understand(text, now, places).budget is budget


@pytest.mark.parametrize(
    ("text", "interests"),
    [
        ("杭州美食和博物馆", ("food", "museums")),
        ("杭州爬山拍照泡温泉", ("hiking", "photography", "hot_springs")),
        ("杭州喝茶逛寺庙", ("temples", "tea")),
        ("带孩子去杭州看历史古迹", ("history", "kids")),
        ("Kyoto: food, temples and tea", ("food", "temples", "tea")),
        ("Kyoto with kids, museums and art", ("museums", "kids", "art")),
        ("Kyoto hiking, nature, nightlife and shopping", ("nature", "hiking", "shopping", "nightlife")),
        ("Kyoto", ()),
    ],
)
def test_interests(text: str, interests: tuple[str, ...], now: datetime, places: AliasIndex) -> None:
    assert understand(text, now, places).interests == interests


@pytest.mark.parametrize("text", ["", "   \n\t", "/trip", "<@U123>", "@导游 "])
def test_empty_request(text: str, now: datetime, places: AliasIndex) -> None:
    with pytest.raises(EmptyRequest):
        understand(text, now, places)


def test_empty_chinese_request_is_answered_in_chinese(now: datetime, places: AliasIndex) -> None:
    with pytest.raises(EmptyRequest) as caught:
        understand("@导游 ", now, places)
    assert "杭州" in caught.value.user_message


def test_too_long_request(now: datetime, places: AliasIndex) -> None:
    with pytest.raises(RequestTooLong) as caught:
        understand("a" * 10_000, now, places)
    assert "2,000" in caught.value.user_message
    assert isinstance(caught.value, InputError)


def test_max_chars_is_a_parameter(now: datetime, places: AliasIndex) -> None:
    assert understand("去杭州玩", now, places, max_chars=4).destination == "Hangzhou"
    with pytest.raises(RequestTooLong):
        understand("去杭州玩吧", now, places, max_chars=4)


def test_gibberish_has_no_destination_and_no_dates(now: datetime, places: AliasIndex) -> None:
    req = understand("asdkjh qwe", now, places)
    assert (req.destination, req.start_date, req.end_date) == (None, None, None)
    assert req.intent is Intent.ITINERARY


def _request(start: str | None, end: str | None, language: Language = Language.ZH) -> TripRequest:
    return TripRequest(
        start_date=date.fromisoformat(start) if start else None,
        end_date=date.fromisoformat(end) if end else None,
        language=language,
    )


@pytest.mark.parametrize(
    "req",
    [
        _request("2026-11-23", "2026-11-23"),
        _request("2026-12-02", "2026-12-17"),  # 16 days: the limit
        _request(None, None),
        _request("2026-12-02", None),
    ],
)
def test_valid_dates(req: TripRequest, now: datetime) -> None:
    validate_dates(req, now)


@pytest.mark.parametrize(
    ("req", "message"),
    [
        (_request("2026-11-01", "2026-11-03"), "开始日期 2026-11-01 已经过去了，请换一个日期。"),
        (_request("2026-11-22", None, Language.EN), "The start date 2026-11-22 is already in the past."),
        (_request("2026-12-07", "2026-12-05"), "结束日期 2026-12-05 早于开始日期 2026-12-07"),
        (_request("2026-12-07", "2026-12-05", Language.EN), "The end date 2026-12-05 is before the start"),
        (_request("2026-12-01", "2026-12-17"), "这趟行程有 17 天，我最多能规划 16 天"),
        (_request("2026-12-01", "2026-12-17", Language.EN), "That trip is 17 days long; I can plan up to 16"),
    ],
)
def test_bad_dates(req: TripRequest, message: str, now: datetime) -> None:
    with pytest.raises(BadDates) as caught:
        validate_dates(req, now)
    assert caught.value.user_message.startswith(message)


def test_max_days_is_a_parameter(now: datetime) -> None:
    with pytest.raises(BadDates):
        validate_dates(_request("2026-12-01", "2026-12-03"), now, max_days=2)


def test_parsed_past_dates_are_reported(now: datetime, places: AliasIndex) -> None:
    req = understand("2025-12-05 to 2025-12-07 in Kyoto", now, places)
    with pytest.raises(BadDates):
        validate_dates(req, now)
