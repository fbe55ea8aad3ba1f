"""`tourguide bench plans`: plan quality of the offline planner over every built-in destination.

Each destination gets a few requests in Chinese and English (self-drive around the city, a weekend,
public transport, a week). Every plan is checked by :func:`agents.travel.checks.check_plan` (exact dates,
indoor plans on wet days, day trips for "around" requests) plus the answer language.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

from agents.knowledge.catalog import Catalog
from agents.tools.climate import OfflineClimate
from agents.travel.checks import check_plan
from agents.travel.offline_planner import OfflinePlanner
from agents.understanding import AliasIndex, understand, validate_dates
from bot.schemas import Language

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
TEMPLATES = (
    "帮我做一个下周三到下周日{zh}周边自驾游方案",
    "3 days in {en} next weekend",
    "12月20日到12月24日坐高铁去{zh}玩，喜欢美食和历史",
    "a week in {en} from Dec 5 by public transport, cheap",
)


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def run() -> int:
    """Plan every template for every destination and print how many plans pass every check."""
    catalog = Catalog.load()
    places, climate, planner = AliasIndex(catalog.aliases()), OfflineClimate(catalog), OfflinePlanner(catalog)
    failures: Counter[str] = Counter()
    total = passed = 0
    started = time.perf_counter()
    for destination in catalog:
        for template in TEMPLATES:
            total += 1
            text = template.format(zh=destination.zh, en=destination.name)
            request = understand(text, NOW, places)
            validate_dates(request, NOW)
            assert request.destination and request.start_date and request.end_date
            weather = climate.report(request.destination, request.start_date, request.end_date)
            plan = planner.plan(request, weather)
            problems = [p.split(":")[-1].split(" (")[0].strip() for p in check_plan(request, weather, plan)]
            if _has_cjk(plan.days[0].title) != (request.language == Language.ZH):
                problems.append("answer in the wrong language")
            failures.update(set(problems))
            passed += not problems
    elapsed = time.perf_counter() - started
    print(f"{total} plans ({len(catalog)} destinations x {len(TEMPLATES)} requests), offline planner + offline weather")
    print(f"  passing every check  {passed}/{total} ({passed / total:.0%})")
    print(f"  time per request     {elapsed / total * 1000:.1f} ms (understanding, weather, plan, checks)")
    for problem, count in failures.most_common():
        print(f"  {count:4d} x {problem}")
    return 0
