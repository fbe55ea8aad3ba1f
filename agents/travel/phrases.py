"""Every sentence the offline planner shows, in English and Chinese.

Kept apart from the rendering logic so a wording change (or a third language) touches
one table, and so a missing translation is caught by a single test over the table.
"""

from __future__ import annotations

from bot.schemas import Language

PHRASES: dict[str, dict[Language, str]] = {
    "city_title": {Language.EN: "{city} city day: {first}", Language.ZH: "{city}市内游：{first}"},
    "last_title": {Language.EN: "Easy last day in {city}", Language.ZH: "{city}轻松收尾日"},
    "trip_title_drive": {
        Language.EN: "Day trip to {place} ({hours} h drive)",
        Language.ZH: "{place}一日游（自驾约{hours}小时）",
    },
    "trip_title_transit": {
        Language.EN: "Day trip to {place} (by train or coach)",
        Language.ZH: "{place}一日游（公共交通）",
    },
    "rainy_suffix": {Language.EN: " (rainy-day plan)", Language.ZH: "（雨天室内方案）"},
    "go_drive": {Language.EN: "Drive to {place}", Language.ZH: "自驾前往{place}"},
    "go_drive_desc": {
        Language.EN: "About {hours} h from {city}; leave early to beat the traffic.",
        Language.ZH: "从{city}出发，单程约{hours}小时，早出发避开拥堵。",
    },
    "go_transit": {Language.EN: "Train or coach to {place}", Language.ZH: "乘火车或大巴前往{place}"},
    "go_transit_desc": {
        Language.EN: "Roughly {hours} h from {city}; check timetables and book ahead.",
        Language.ZH: "从{city}出发约{hours}小时，请提前查询班次并购票。",
    },
    "back_drive": {Language.EN: "Drive back to {city}", Language.ZH: "驾车返回{city}"},
    "back_transit": {Language.EN: "Return to {city}", Language.ZH: "返回{city}"},
    "back_desc": {
        Language.EN: "About {hours} h; allow extra time for evening traffic.",
        Language.ZH: "约{hours}小时，晚高峰请预留时间。",
    },
    "highlight_desc": {Language.EN: "A highlight of {place}.", Language.ZH: "{place}的精华景点。"},
    "highlight_desc_indoor": {
        Language.EN: "A highlight of {place}, indoors.",
        Language.ZH: "{place}的精华景点（室内）。",
    },
    "lunch": {Language.EN: "Lunch: {food}", Language.ZH: "午餐：{food}"},
    "dinner": {Language.EN: "Dinner: {food}", Language.ZH: "晚餐：{food}"},
    "meal_desc_low": {
        Language.EN: "Good value at a busy local eatery or as a set lunch.",
        Language.ZH: "可选人气本地小馆或套餐，实惠地道。",
    },
    "meal_desc_medium": {Language.EN: "A local speciality worth trying.", Language.ZH: "当地特色，值得一尝。"},
    "meal_desc_high": {
        Language.EN: "Book a renowned restaurant for it.",
        Language.ZH: "可预订当地知名老字号或名店品尝。",
    },
    "wet_note": {
        Language.EN: "Rain likely ({chance}%, {low}-{high} °C{estimate}): indoor options only today; "
        "bring an umbrella.",
        Language.ZH: "预计有雨（降水概率{chance}%，{low}~{high}°C{estimate}），今天只安排室内项目，记得带伞。",
    },
    "dry_note": {
        Language.EN: "Mostly dry ({low}-{high} °C{estimate}): outdoor sights first.",
        Language.ZH: "天气较好（{low}~{high}°C{estimate}），优先安排户外景点。",
    },
    "estimate": {Language.EN: ", climate estimate", Language.ZH: "，气候估计值"},
    "snow_note": {
        Language.EN: "Snow forecast ({chance}%, {low}-{high} °C): indoor options only today; dress warmly, "
        "wear boots with grip and check road conditions.",
        Language.ZH: "预报有雪（降水概率{chance}%，{low}~{high}°C），今天只安排室内项目；注意保暖、穿防滑鞋，"
        "自驾请留意路况。",
    },
    "typical_rain": {
        Language.EN: "Typical for {month}: {low}-{high} °C, rain on about {rain} days of the month "
        "(climate normals, not a forecast).",
        Language.ZH: "{month}月常年气温{low}~{high}°C，当月约{rain}天有雨（气候常年值，并非预报）。",
    },
    "typical_snow": {
        Language.EN: "Typical for {month}: {low}-{high} °C, snow on about {snow} days of the month "
        "(climate normals, not a forecast); dress for the cold.",
        Language.ZH: "{month}月常年气温{low}~{high}°C，当月约{snow}天有降雪（气候常年值，并非预报），注意防寒保暖。",
    },
    "typical_mixed": {
        Language.EN: "Typical for {month}: {low}-{high} °C, rain on about {rain} and snow on about {snow} "
        "days of the month (climate normals, not a forecast).",
        Language.ZH: "{month}月常年气温{low}~{high}°C，当月约{rain}天有雨、{snow}天有雪（气候常年值，并非预报）。",
    },
    "plan_b": {
        Language.EN: "Plan B if the weather turns: {place} (indoors).",
        Language.ZH: "如遇雨雪，可改去室内的{place}。",
    },
    "plan_b_any": {
        Language.EN: "Plan B if the weather turns: a museum, a market hall or a long lunch indoors.",
        Language.ZH: "如遇雨雪，可改去博物馆、室内市集或在餐厅多坐一会儿。",
    },
    "slow_note": {
        Language.EN: "Relaxed pace: a rest at the hotel after lunch.",
        Language.ZH: "节奏放缓：午饭后回酒店休息一下。",
    },
    "spend": {
        Language.EN: "Rough spend: about US${usd} per person a day for sights, food and local transport "
        "(lodging extra).",
        Language.ZH: "预计花费：每人每天约{cny}元（门票、餐饮、市内交通，不含住宿）。",
    },
    "free_title": {Language.EN: "Free day in {city}", Language.ZH: "{city}自由活动日"},
    "free_time": {Language.EN: "Free time in {city}", Language.ZH: "{city}自由活动"},
    "free_time_desc": {
        Language.EN: "Wander a neighbourhood you liked, shop, or simply rest.",
        Language.ZH: "逛逛喜欢的街区、购物，或者好好休息。",
    },
    "free_note": {
        Language.EN: "I have no more sights for this city offline, so this day is yours rather than a repeat.",
        Language.ZH: "离线资料里这座城市的景点已经安排完，这天留给你自由安排，不再重复之前的景点。",
    },
    "snack": {Language.EN: "Snack: {food}", Language.ZH: "小吃：{food}"},
    "snack_desc": {Language.EN: "A local treat between sights.", Language.ZH: "景点间歇尝尝当地小吃。"},
    "transfer_title": {Language.EN: "{origin} to {city}", Language.ZH: "{origin}前往{city}"},
    "transfer_train": {Language.EN: "Train from {origin} to {city}", Language.ZH: "乘高铁/火车从{origin}前往{city}"},
    "transfer_drive": {Language.EN: "Drive from {origin} to {city}", Language.ZH: "从{origin}自驾前往{city}"},
    "transfer_flight": {Language.EN: "Fly from {origin} to {city}", Language.ZH: "从{origin}乘飞机前往{city}"},
    "transfer_desc": {
        Language.EN: "About {hours} h door to door; check out early and book ahead.",
        Language.ZH: "全程约{hours}小时，早点退房并提前订票。",
    },
    "snowy_suffix": {Language.EN: " (snowy-day plan)", Language.ZH: "（雪天室内方案）"},
    "no_weather_note": {
        Language.EN: "No weather data: check the forecast before you go.",
        Language.ZH: "暂无天气数据，出发前请查看天气预报。",
    },
    "trip_note": {
        Language.EN: "Leave by 08:00; about {hours} h each way.",
        Language.ZH: "建议8点前出发，单程约{hours}小时。",
    },
    "last_note_home": {
        Language.EN: "Light day so you get home early and rested.",
        Language.ZH: "行程轻松，方便早点回家休息。",
    },
    "last_note_depart": {
        Language.EN: "Light day to leave time for packing and the journey home.",
        Language.ZH: "行程轻松，留出收拾行李和返程的时间。",
    },
    "summary": {
        Language.EN: "{days}-day {kind} {where}, {start} to {end}: {parts}.",
        Language.ZH: "{where}{days}日{kind}（{start}至{end}）：{parts}。",
    },
    "summary_free": {
        Language.EN: " {count} day(s) are left free rather than repeating sights.",
        Language.ZH: "其中{count}天为自由活动，不重复已去过的景点。",
    },
    "summary_rain": {
        Language.EN: " Rainy days use indoor options.",
        Language.ZH: "雨天改为室内项目。",
    },
    "kind_drive": {Language.EN: "self-drive trip", Language.ZH: "自驾游"},
    "kind_transit": {Language.EN: "public-transport trip", Language.ZH: "公共交通游"},
    "kind_plain": {Language.EN: "trip", Language.ZH: "行程"},
    "where_around": {Language.EN: "around {city}", Language.ZH: "{city}周边"},
    "where_in": {Language.EN: "in {city}", Language.ZH: "{city}"},
    "parts_trips": {
        Language.EN: "{count} day trip(s) ({names}) and {city_days} city day(s)",
        Language.ZH: "{count}次周边一日游（{names}）和{city_days}天市内行程",
    },
    "parts_trips_only": {
        Language.EN: "{count} day trip(s) ({names})",
        Language.ZH: "{count}次周边一日游（{names}）",
    },
    "parts_city": {Language.EN: "{city_days} city day(s)", Language.ZH: "{city_days}天市内行程"},
    "summary_estimate": {
        Language.EN: " Weather is an offline estimate from climate normals, not a forecast.",
        Language.ZH: "天气为根据气候平均值的离线估计，并非实时预报。",
    },
    "tip_estimate": {
        Language.EN: "The weather here is a climate estimate: check the live forecast the day before.",
        Language.ZH: "以上天气为气候估计值，请在出发前一天查看实时预报。",
    },
    "tip_drive": {
        Language.EN: "Self-drive: leave early, expect heavy traffic on weekends and holidays, "
        "and arrive before 10:00 when scenic-area car parks fill up.",
        Language.ZH: "自驾提示：尽早出发，周末和节假日易拥堵；热门景区停车场10点前后易满。",
    },
    "tip_transit": {
        Language.EN: "Public transport: book train tickets in advance and note the last service back.",
        Language.ZH: "公共交通：提前购买车票，留意返程末班车时间。",
    },
    "tip_rain": {
        Language.EN: "Rain is likely on some days: pack umbrellas and shoes that can get wet.",
        Language.ZH: "部分日子可能下雨，请带好雨具和防滑鞋。",
    },
    "tip_budget_low": {
        Language.EN: "On a budget: many museums are free with advance booking; local eateries are cheap.",
        Language.ZH: "省钱提示：不少博物馆预约即可免费参观，本地小馆实惠地道。",
    },
    "tip_budget_high": {
        Language.EN: "For comfort: consider a private driver-guide and reserve well-known restaurants.",
        Language.ZH: "追求舒适：可考虑包车或私人导游，并提前预订知名餐厅。",
    },
    "tip_kids": {
        Language.EN: "With children: plan a midday rest; many sights price children's tickets by height.",
        Language.ZH: "带娃出行：中午安排休息，很多景点儿童票按身高计价。",
    },
    "tip_group": {
        Language.EN: "For a group of {count}: book tables and tickets ahead.",
        Language.ZH: "{count}人同行：请提前订餐、订票。",
    },
    "tip_booking": {
        Language.EN: "Popular sights sell out: book tickets online a few days ahead.",
        Language.ZH: "热门景点常需提前预约，请提前几天在线购票。",
    },
}


def say(language: Language, key: str, **values: object) -> str:
    """The phrase ``key`` in ``language`` with ``values`` filled in; KeyError on an unknown key."""
    return PHRASES[key][language].format(**values)
