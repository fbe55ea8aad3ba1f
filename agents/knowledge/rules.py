"""Facts about sights and foods that plans must respect: opening days and seasons, snacks vs meals,
paid-ticket highlights, and a rough daily spend per person.

Kept as small tables keyed by the catalog's English names (rather than fields in every JSON record) so a
correction is one line; a name that is not listed simply has no restriction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .models import Attraction, Destination


@dataclass(frozen=True)
class Opening:
    """When a sight can be visited: weekdays it is closed (0 = Monday) and its season (month, day)."""

    closed_weekdays: tuple[int, ...] = ()
    season: tuple[tuple[int, int], tuple[int, int]] | None = None  # from (month, day) to (month, day)

    def open_on(self, day: date) -> bool:
        """True when the sight is open on ``day``."""
        if day.weekday() in self.closed_weekdays:
            return False
        if self.season is None:
            return True
        first, last = self.season
        key = (day.month, day.day)
        return first <= key <= last if first <= last else key >= first or key <= last


MONDAY, TUESDAY, WEDNESDAY, SUNDAY = 0, 1, 2, 6
# Explicit cases; see opening() for the general rule on Chinese museums.
OPENINGS: dict[str, Opening] = {
    "Harbin Ice and Snow World": Opening(season=((12, 20), (2, 28))),  # ice is cut in December, melts in March
    "Forbidden City (Palace Museum)": Opening((MONDAY,)),
    "Tokyo National Museum": Opening((MONDAY,)),
    "Kyoto National Museum": Opening((MONDAY,)),
    "Kyoto Railway Museum": Opening((WEDNESDAY,)),
    "Ghibli Museum": Opening((TUESDAY,)),
    "National Museum of Korea": Opening(()),
    "Louvre Museum": Opening((TUESDAY,)),
    "Musée d'Orsay": Opening((MONDAY,)),
    "Vatican Museums and Sistine Chapel": Opening((SUNDAY,)),
    "Sun Island": Opening(()),
}
_NOT_STATE_MUSEUMS = ("Beer", "Art Museum", "Hundred Beds", "Yellow Wine", "Tea Culture", "Medicine")


def opening(destination: Destination, attraction: Attraction) -> Opening:
    """The opening rule of ``attraction``; Chinese state museums close on Mondays."""
    if attraction.en in OPENINGS:
        return OPENINGS[attraction.en]
    state_museum = "Museum" in attraction.en and not any(word in attraction.en for word in _NOT_STATE_MUSEUMS)
    if destination.country == "China" and attraction.indoor and state_museum:
        return Opening((MONDAY,))
    return Opening()


# Foods that are a snack, a sweet or a drink: never served as lunch or dinner.
SNACKS = frozenset({
    "Tanghulu candied haws", "Modern ice lolly", "Matcha sweets", "Dalieba Russian bread", "Stroopwafel",
    "Trdelník", "Gelato", "Macarons", "Egg tarts", "Portuguese egg tart", "Churros with chocolate",
    "Pilsner beer", "Tsingtao draught beer", "Bubble milk tea", "Egg coffee", "Croissants and café",
    "Nanaimo bars", "Afternoon tea with scones", "Arabic coffee and dates", "Luqaimat dumplings with date syrup",
    "Apricot-skin drink", "Sanbai rice wine", "Moganshan yellow bud tea", "Huangshan Maofeng tea",
    "Huangshan sesame biscuits", "Butter tea and sweet tea", "Camellia oil tea", "Flower cakes", "Fennel beans",
    "Sugar-oil rice cakes", "Sister-in-law cakes", "Duck oil pastry", "Mahua fried dough twists",
    "Pineapple bun with milk tea", "Serradura sawdust pudding", "Qingbuliang coconut dessert", "Kaya toast",
    "Peanut soup", "Mango sticky rice", "Stinky tofu", "Spicy duck neck", "Takoyaki", "Japadog",
    "New York cheesecake", "Dutch apple pie", "Sweet osmanthus rice cakes", "Ningbo black sesame tangyuan",
    "Rushan grilled milk fan", "Baklava", "Bitterballen", "Raw herring", "Pork chop bun", "Tsampa",
    "Flat white and avocado toast", "Bagel with lox", "New York pizza slice", "Jianbing guozi", "Mackerel dumplings",
    "Hongchang red sausage", "Ear-hole fried rice cakes", "Xizhou baba flatbread", "Naxi baba flatbread",
    "Turkish breakfast", "Full English breakfast", "Beef soup breakfast", "Dim sum morning tea",
})


def is_snack(food_en: str) -> bool:
    """True for a snack, sweet or drink (not a meal)."""
    return food_en in SNACKS


# Paid highlights a tight budget skips (observation decks, theme parks, ticketed shows).
_PRICEY_WORDS = ("disney", "universal", "teamlab", " sky", "tower", "ocean park", "observation", "cruise",
                 "polarland", "legoland", "ski", "cable car", "show", "ice and snow world", "museum of the future",
                 "burj", "ghibli")


def is_pricey(attraction: Attraction) -> bool:
    """True for an expensive ticket a low-budget plan leaves out."""
    name = f" {attraction.en.casefold()}"
    return any(word in name for word in _PRICEY_WORDS)


# Rough spend per person per day on sights, food and local transport (lodging not included), in CNY, for
# China; other countries scale by a price level. Figures are deliberately round: an estimate, not a quote.
_DAILY_CNY = {"low": 200, "medium": 450, "high": 1200}
_PRICE_LEVEL = {
    "China": 1.0, "Japan": 1.5, "South Korea": 1.4, "Thailand": 0.8, "Vietnam": 0.6, "Indonesia": 0.8,
    "Singapore": 2.0, "United Arab Emirates": 2.2, "Turkey": 1.0, "United States": 2.6, "Canada": 2.2,
    "Australia": 2.3, "United Kingdom": 2.4, "France": 2.3, "Italy": 2.1, "Spain": 1.9, "Netherlands": 2.3,
    "Czech Republic": 1.5, "Austria": 2.2, "Switzerland": 3.0, "Germany": 2.1, "Greece": 1.8, "Portugal": 1.7,
    "Malaysia": 0.9, "Philippines": 0.8, "Cambodia": 0.6, "Nepal": 0.5, "Egypt": 0.8, "India": 0.6,
    "New Zealand": 2.2, "Iceland": 3.0, "Norway": 3.0, "Morocco": 0.9, "Mexico": 1.2, "Peru": 1.0,
}
CNY_PER_USD = 7.2


def daily_cost(country: str, budget: str) -> tuple[int, int]:
    """(CNY, USD) per person per day for ``budget`` ("low" / "medium" / "high") in ``country``."""
    cny = _DAILY_CNY.get(budget, _DAILY_CNY["medium"]) * _PRICE_LEVEL.get(country, 1.8)
    return round(cny / 10) * 10, round(cny / CNY_PER_USD / 5) * 5
