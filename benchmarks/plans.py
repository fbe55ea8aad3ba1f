"""`tourguide bench plans`: plan quality of the offline planner over every built-in destination.

Each destination gets requests in Chinese and English (self-drive around the city, a weekend, public
transport with interests, a cheap week, a family with children and grandparents, ten days over the
Spring Festival). Every plan is checked by :func:`agents.travel.checks.violations` with the catalog's
facts (dates, weather, an indoor plan B, day trips, no repeated sight, full days, opening days and
seasons, meals, pace, budget) plus the answer language, and the pass rate of each rule is printed.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from agents.knowledge.catalog import Catalog
from agents.knowledge.models import Destination
from agents.supervisor.planner import leg_request
from agents.tools.climate import OfflineClimate
from agents.travel.checks import RULES, violations
from agents.travel.offline_planner import OfflinePlanner
from agents.understanding import AliasIndex, understand, validate_dates
from bot.schemas import Language
from bot.text import has_cjk

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
TEMPLATES = (
    "帮我做一个下周三到下周日{zh}周边自驾游方案",
    "3 days in {en} next weekend",
    "12月20日到12月24日坐高铁去{zh}玩，喜欢美食和历史",
    "a week in {en} from Dec 5 by public transport, cheap",
    "我和老公带两个孩子和爸妈去{zh}玩4天，下周五出发",
    "春节去{zh}玩十天",
    "{en} 4 days then {other} 3 days",  # multi-city: each leg planned and checked, transfer day included
)


@dataclass
class Tools:
    """What a benchmark run needs once: the catalog and its place index, climate and planner."""

    catalog: Catalog
    places: AliasIndex
    climate: OfflineClimate
    planner: OfflinePlanner

    @classmethod
    def load(cls) -> Tools:
        """The tools over the built-in catalog."""
        catalog = Catalog.load()
        return cls(catalog, AliasIndex(catalog.aliases()), OfflineClimate(catalog), OfflinePlanner(catalog))


def check_request(tools: Tools, destination: Destination, template: str) -> tuple[set[str], int, int]:
    """(rules broken, days planned, free days) for one template at one destination; legs planned one by one."""
    other = "Shanghai" if destination.name != "Shanghai" else "Hangzhou"
    text = template.format(zh=destination.zh, en=destination.name, other=other)
    request = understand(text, NOW, tools.places)
    validate_dates(request, NOW)
    legs = [leg_request(request, i) for i in range(len(request.legs))] or [request]
    rules: set[str] = set()
    days = free = 0
    for leg in legs:
        assert leg.destination and leg.start_date and leg.end_date
        weather = tools.climate.report(leg.destination, leg.start_date, leg.end_date)
        plan = tools.planner.plan(leg, weather)
        known = tools.catalog.get(leg.destination)
        rules |= {v.rule for v in violations(leg, weather, plan, known)}
        if leg.around and not known.day_trips:
            rules.discard("around")  # nothing nearby in the data: the plan says so honestly
        if has_cjk(plan.days[0].title) != (leg.language == Language.ZH):
            rules.add("language")
        days += len(plan.days)
        free += sum(d.kind == "free" for d in plan.days)
    return rules, days, free


def run() -> int:
    """Plan every template for every destination and print the pass rate of every rule."""
    tools = Tools.load()
    broken: Counter[str] = Counter()  # rule -> plans breaking it
    total = passed = days = free = 0
    started = time.perf_counter()
    for destination in tools.catalog:
        for template in TEMPLATES:
            total += 1
            rules, planned, idle = check_request(tools, destination, template)
            days, free = days + planned, free + idle
            broken.update(rules)
            passed += not rules
    elapsed = time.perf_counter() - started
    count = len(tools.catalog)
    print(f"{total} plans ({count} destinations x {len(TEMPLATES)} requests), offline planner + offline weather")
    print(f"  passing every rule   {passed}/{total} ({passed / total:.1%})")
    print(f"  time per request     {elapsed / total * 1000:.1f} ms (understanding, weather, plan, checks)")
    print(f"  free days            {free}/{days} ({free / days:.1%}): no fresh sight or day trip was left")
    print("  pass rate per rule")
    for rule in (*RULES, "language"):
        ok = total - broken[rule]
        print(f"    {rule:<14} {ok:4d}/{total} ({ok / total:.1%})")
    return 0
