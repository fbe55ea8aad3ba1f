"""Keyword readers for the single fields of a trip request: language, intent, party size, travel
mode, budget, interests and "around". Each reader returns None (or an empty tuple) when the text
does not say, so follow-ups can tell "not mentioned" from a default.
"""

from __future__ import annotations

import re

from bot.schemas import Budget, Intent, TravelMode
from bot.text import has_cjk

from .party import party_of


def _words(*words: str) -> re.Pattern[str]:
    """One pattern for the keywords; Latin ones only as whole words, CJK ones anywhere."""
    parts = [re.escape(w) if has_cjk(w) else rf"\b{re.escape(w)}\b" for w in words]
    return re.compile("|".join(p.replace(r"\ ", r"\s+") for p in parts), re.IGNORECASE)


WEATHER_WORDS = _words(
    "天气", "下雨", "下雪", "气温", "温度", "降雨", "预报", "冷不冷", "热不热", "穿什么",
    "weather", "rain", "raining", "snow", "forecast", "temperature", "how hot", "how cold",
)  # fmt: skip
PLAN_WORDS = _words(
    "方案", "行程", "计划", "攻略", "安排", "路线", "推荐", "怎么玩", "玩什么", "去哪玩", "景点",
    "itinerary", "plan", "plans", "schedule", "things to do", "what to do", "what to see", "recommend", "suggest",
)  # fmt: skip
AROUND_WORDS = _words("周边", "附近", "around", "near", "nearby", "day trip", "day trips")
MODE_WORDS: tuple[tuple[TravelMode, re.Pattern[str]], ...] = (
    # Negations first: "不开车了" mentions 开车 but means public transport.
    (TravelMode.PUBLIC_TRANSPORT, _words("不开车", "不自驾", "没有车", "没车", "no car", "without a car",
                                         "not drive", "don't drive", "not driving")),
    (TravelMode.SELF_DRIVE, _words("自驾", "开车", "租车", "驾车", "self-drive", "self drive", "drive",
                                   "driving", "road trip", "by car", "rent a car", "rental car")),
    (TravelMode.PUBLIC_TRANSPORT, _words("高铁", "公共交通", "地铁", "火车", "动车", "公交", "大巴",
                                         "public transport", "public transportation", "train", "trains",
                                         "subway", "metro", "bus", "buses")),
)  # fmt: skip
BUDGET_WORDS: tuple[tuple[Budget, re.Pattern[str]], ...] = (
    (Budget.LOW, _words("便宜", "经济", "穷游", "省钱", "预算低", "预算少", "低预算", "实惠", "预算有限", "预算不多",
                        "cheap", "cheaper", "affordable", "low-cost", "inexpensive", "on a budget", "low budget",
                        "tight budget", "budget trip", "budget travel", "budget hotel", "budget hotels")),
    (Budget.HIGH, _words("豪华", "高端", "奢华", "不差钱", "预算充足", "五星",
                         "luxury", "luxurious", "upscale", "high-end", "fancy", "five-star")),
    (Budget.MEDIUM, _words("中等", "适中", "预算一般", "moderate", "mid-range", "midrange")),
)  # fmt: skip
INTERESTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("food", _words("美食", "小吃", "好吃", "吃", "餐厅", "food", "foodie", "cuisine", "eat", "eating",
                    "restaurants")),
    ("history", _words("历史", "古迹", "古镇", "古城", "遗址", "history", "historic", "historical", "heritage")),
    ("nature", _words("自然", "风景", "山水", "田园", "nature", "scenery", "scenic", "outdoors", "countryside")),
    ("hiking", _words("徒步", "爬山", "登山", "远足", "hiking", "hike", "trekking", "trek")),
    ("shopping", _words("购物", "逛街", "买买买", "shopping", "shop", "malls", "markets")),
    ("museums", _words("博物馆", "展览", "museum", "museums")),
    ("kids", _words("亲子", "带孩子", "带娃", "小孩", "孩子", "儿童", "kids", "children", "child",
                    "family-friendly")),
    ("photography", _words("拍照", "摄影", "出片", "photography", "photos", "photo", "photogenic")),
    ("hot_springs", _words("温泉", "hot spring", "hot springs", "onsen")),
    ("nightlife", _words("夜生活", "酒吧", "蹦迪", "nightlife", "bars", "clubbing", "night life")),
    ("art", _words("艺术", "美术馆", "画廊", "art", "arts", "gallery", "galleries")),
    ("temples", _words("寺庙", "寺", "庙", "神社", "temple", "temples", "shrine", "shrines")),
    ("tea", _words("茶", "tea", "teahouse", "tea house")),
)  # fmt: skip

def intent_of(text: str) -> Intent:
    """WEATHER for a pure weather question (no plan asked for), else ITINERARY."""
    if WEATHER_WORDS.search(text) and not PLAN_WORDS.search(text):
        return Intent.WEATHER
    return Intent.ITINERARY


def is_around(text: str) -> bool:
    """True for day trips out of a base city (周边 / around / near)."""
    return AROUND_WORDS.search(text) is not None


def mode_of(text: str) -> TravelMode | None:
    """Travel mode the text asks for, if any."""
    return next((mode for mode, words in MODE_WORDS if words.search(text)), None)


def budget_of(text: str) -> Budget | None:
    """Budget level the text asks for, if any."""
    return next((budget for budget, words in BUDGET_WORDS if words.search(text)), None)


def interests_of(text: str) -> tuple[str, ...]:
    """Canonical interest tags mentioned in the text, in vocabulary order."""
    return tuple(tag for tag, words in INTERESTS if words.search(text))


def travelers_of(text: str) -> int | None:
    """Party size the text states (1..100), or None when it does not say (see :mod:`.party`)."""
    party = party_of(text)
    return None if party is None else party.total
