"""Every built-in destination gets a plan that passes the quality checks, in the user's language."""

from __future__ import annotations

import pytest

from agents.knowledge.catalog import Catalog
from agents.tools.climate import OfflineClimate
from agents.travel.checks import check_plan
from agents.travel.offline_planner import OfflinePlanner
from agents.understanding import AliasIndex, understand
from bot.benchmarks.plans import NOW, TEMPLATES

CATALOG = Catalog.load()


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_destination_gets_a_plan_that_passes_the_checks(template: str) -> None:
    places, climate, planner = AliasIndex(CATALOG.aliases()), OfflineClimate(CATALOG), OfflinePlanner(CATALOG)
    failing = {}
    for destination in CATALOG:
        request = understand(template.format(zh=destination.zh, en=destination.name), NOW, places)
        assert request.destination == destination.name
        assert request.start_date and request.end_date
        weather = climate.report(destination.name, request.start_date, request.end_date)
        problems = check_plan(request, weather, planner.plan(request, weather))
        if request.around and not destination.day_trips:
            problems = [p for p in problems if "day trip" not in p]  # nothing nearby in the data: said honestly
        if problems:
            failing[destination.name] = problems
    assert failing == {}
