"""The built-in destination catalog: loading, validation and name resolution."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from agents.knowledge.catalog import Catalog
from agents.knowledge.models import Destination
from bot.errors import UnknownPlace
from bot.schemas import Language


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def test_catalog_has_enough_chinese_and_international_destinations(catalog: Catalog) -> None:
    chinese = [d for d in catalog if d.country == "China"]
    others = [d for d in catalog if d.country != "China"]
    assert len(chinese) >= 30
    assert len(others) >= 20
    assert len(catalog) == len(chinese) + len(others)


def test_every_destination_is_complete(catalog: Catalog) -> None:
    for dest in catalog:
        ZoneInfo(dest.timezone)  # raises for a misspelt IANA zone
        assert len(dest.climate) == 12, dest.name
        assert all(m.min_c <= m.max_c and 0 <= m.wet_pct <= 100 for m in dest.climate), dest.name
        assert len(dest.attractions) >= 6, dest.name
        assert sum(a.indoor for a in dest.attractions) >= 2, dest.name
        assert len(dest.foods) >= 3, dest.name
        for trip in dest.day_trips:
            assert 2 <= len(trip.highlights) <= 3, (dest.name, trip.en)
            assert 0 < trip.drive_hours <= 6, (dest.name, trip.en)


def test_hangzhou_has_the_classic_day_trips(catalog: Catalog) -> None:
    trips = {t.en: t for t in catalog.get("Hangzhou").day_trips}
    assert len(trips) >= 3
    assert {"Wuzhen", "Shaoxing", "Moganshan"} <= trips.keys()
    assert trips["Shaoxing"].train and not trips["Moganshan"].train


@pytest.mark.parametrize("name", ["杭州", "hangzhou", "Hangzhou", "HANGZHOU", "杭州市", "hang zhou", " Hangzhou "])
def test_aliases_resolve_to_hangzhou(catalog: Catalog, name: str) -> None:
    assert catalog.get(name).name == "Hangzhou"
    assert name in catalog


@pytest.mark.parametrize(("name", "canonical"), [("Xian", "Xi'an"), ("xi'an", "Xi'an"), ("京都", "Kyoto"),
                                                  ("NYC", "New York"), ("澳门", "Macau"), ("Peking", "Beijing")])
def test_other_spellings_resolve(catalog: Catalog, name: str, canonical: str) -> None:
    assert catalog.get(name).name == canonical


def test_alias_index_maps_every_name_to_its_canonical_name(catalog: Catalog) -> None:
    aliases = catalog.aliases()
    assert aliases["杭州"] == "Hangzhou"
    assert aliases["Hangzhou"] == "Hangzhou"
    assert aliases["Kyoto"] == "Kyoto"
    assert {d.name for d in catalog} <= set(aliases.values())  # plus the gazetteer places (no sights)


def test_unknown_place_raises(catalog: Catalog) -> None:
    with pytest.raises(UnknownPlace):
        catalog.get("Atlantis")
    with pytest.raises(UnknownPlace):
        catalog.place("")
    assert "Atlantis" not in catalog


def test_place_carries_coordinates_and_timezone(catalog: Catalog) -> None:
    place = catalog.place("杭州")
    assert place.name == "Hangzhou"
    assert place.country == "China"
    assert place.timezone == "Asia/Shanghai"
    assert 30 < place.latitude < 31 and 119 < place.longitude < 121


def test_duplicate_alias_across_destinations_is_rejected(catalog: Catalog) -> None:
    hangzhou = catalog.get("Hangzhou")
    clash = hangzhou.model_copy(update={"name": "Fake", "zh": "假城", "aliases": ("hang zhou",)})
    with pytest.raises(ValueError, match="hang zhou"):
        Catalog([hangzhou, clash])


def test_invalid_data_is_rejected(catalog: Catalog) -> None:
    raw = catalog.get("Hangzhou").model_dump(mode="json")
    raw["climate"] = raw["climate"][:11]
    with pytest.raises(ValueError, match="climate"):
        Destination.model_validate(raw)
    raw = catalog.get("Hangzhou").model_dump(mode="json")
    raw["attractions"][0]["tags"] = ["shopping", "skydiving"]
    with pytest.raises(ValueError, match="tags"):
        Destination.model_validate(raw)


def test_climate_month_is_stored_compactly() -> None:
    raw = {
        "name": "Nowhere", "zh": "无处", "country": "X", "latitude": 0, "longitude": 0, "timezone": "Etc/UTC",
        "climate": [[5, 3, 10, "sunny"]] * 12, "attractions": [], "foods": [],
    }
    with pytest.raises(ValueError, match="above mean maximum"):
        Destination.model_validate(raw)


def test_the_gazetteer_locates_real_places_without_sights(catalog: Catalog) -> None:
    # Known places with weather (own or a nearby destination's normals) but no sight list offline.
    for name, country in (("阳朔", "China"), ("稻城亚丁", "China"), ("Hallstatt", "Austria")):
        place = catalog.place(name)
        assert place.country == country
        assert catalog.climate(name) is not None
        assert name not in catalog  # no sights: the planner answers honestly instead of inventing
    assert catalog.local_name("Yangshuo", Language.ZH) == "阳朔"
    climate = catalog.climate("阳朔")
    assert climate is not None and climate[1] == "Guilin"  # borrowed from 60 km away, and said so
    assert catalog.climate("Cusco") is None  # nothing near: no figures rather than invented ones
