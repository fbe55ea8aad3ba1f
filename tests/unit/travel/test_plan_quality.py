"""Every built-in destination gets plans that pass every plan rule, in the user's language (bench plans' requests)."""

from __future__ import annotations

import pytest

from benchmarks.plans import TEMPLATES, Tools, check_request

TOOLS = Tools.load()


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_destination_gets_a_plan_that_passes_the_checks(template: str) -> None:
    failing = {}
    for destination in TOOLS.catalog:
        rules, _days, _free = check_request(TOOLS, destination, template)
        if rules:
            failing[destination.name] = rules
    assert failing == {}
