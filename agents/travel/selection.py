"""Which sights go on which day: the ranking and scheduling rules of the offline planner.

Nothing here writes user-facing text; :mod:`agents.travel.render` turns the chosen
:class:`DayChoice` values into activities in the request's language.

Rules, in order of precedence:
- wet days get indoor attractions and highlights only; dry days prefer outdoor ones;
- day trips when the user asked for trips "around" the city, or for self-drive trips
  longer than two days; public-transport trips only use trips reachable by train;
- no two long drives (2 h or more one way) in a row, and the last day stays light;
- attractions are ranked by overlap with the user's interests and never repeated until
  the destination's stock (of the kind the weather allows) runs out.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import cycle

from agents.knowledge.models import Attraction, DayTrip, Destination, Highlight, Interest, Named
from bot.schemas import TravelMode, TripRequest, WeatherDay

LONG_DRIVE_HOURS = 2.0
FULL_DAY_HOURS = 7.5  # sightseeing hours in a full city day, meals and transfers aside
LIGHT_DAY_HOURS = 4.0
MAX_ATTRACTIONS = 3

_SYNONYMS = {
    "美食": Interest.FOOD, "吃": Interest.FOOD, "历史": Interest.HISTORY, "古迹": Interest.HISTORY,
    "自然": Interest.NATURE, "风景": Interest.NATURE, "徒步": Interest.HIKING, "爬山": Interest.HIKING,
    "购物": Interest.SHOPPING, "博物馆": Interest.MUSEUMS, "亲子": Interest.KIDS, "摄影": Interest.PHOTOGRAPHY,
    "拍照": Interest.PHOTOGRAPHY, "温泉": Interest.HOT_SPRINGS, "夜生活": Interest.NIGHTLIFE,
    "夜景": Interest.NIGHTLIFE, "艺术": Interest.ART, "寺庙": Interest.TEMPLES, "茶": Interest.TEA,
    "museum": Interest.MUSEUMS, "temple": Interest.TEMPLES, "hike": Interest.HIKING,
    "hot spring": Interest.HOT_SPRINGS, "hot springs": Interest.HOT_SPRINGS, "children": Interest.KIDS,
}
_KID_WORDS = ("孩子", "小孩", "儿童", "亲子", "宝宝", "娃", "kid", "child", "family", "toddler")


@dataclass(frozen=True)
class Preferences:
    """What the request asks of the selection, derived once from the TripRequest."""

    interests: frozenset[Interest]
    trips_wanted: bool
    around: bool
    train_only: bool
    kids: bool


@dataclass(frozen=True)
class DayChoice:
    """The selection for one date: a city day (attractions) or a day trip (highlights)."""

    date: date
    weather: WeatherDay | None
    attractions: tuple[Attraction, ...] = ()
    trip: DayTrip | None = None
    highlights: tuple[Highlight, ...] = ()
    meals: tuple[Named, ...] = ()  # lunch, then dinner when there is one
    last: bool = False

    @property
    def wet(self) -> bool:
        """True when the day's weather sends everyone indoors."""
        return self.weather is not None and self.weather.is_wet


def _interest(word: str) -> Interest | None:
    key = word.strip().casefold()
    try:
        return Interest(key.replace(" ", "_"))
    except ValueError:
        return _SYNONYMS.get(key)


def preferences(request: TripRequest) -> Preferences:
    """Interests (plus kids when the text mentions children) and the day-trip rules of ``request``."""
    interests = {found for word in request.interests if (found := _interest(word)) is not None}
    text = request.text.casefold()
    kids = any(word in text for word in _KID_WORDS) or Interest.KIDS in interests
    if kids:
        interests.add(Interest.KIDS)
    self_drive = request.mode is TravelMode.SELF_DRIVE
    return Preferences(
        interests=frozenset(interests),
        trips_wanted=request.around or (self_drive and request.days > 2),
        around=request.around,
        train_only=request.mode is TravelMode.PUBLIC_TRANSPORT,
        kids=kids,
    )


def _overlap(tags: Sequence[Interest], prefs: Preferences) -> int:
    return len(prefs.interests.intersection(tags))


def _trip_fits(trip: DayTrip, wet: bool, after_long: bool, only_short: bool) -> bool:
    long = trip.drive_hours >= LONG_DRIVE_HOURS
    if long and (after_long or only_short):
        return False
    return not wet or any(h.indoor for h in trip.highlights)


def _trip_score(trip: DayTrip, rank: int, wet: bool, prefs: Preferences) -> float:
    fitting = sum(h.indoor == wet for h in trip.highlights)  # indoor stops on wet days, outdoor on dry
    # The data lists a city's day trips best known first; ``rank`` keeps that order in play.
    return 3 * _overlap(trip.tags, prefs) + 0.5 * fitting - 0.5 * trip.drive_hours - 0.3 * rank


def _trip_days(count: int, prefs: Preferences) -> list[int]:
    if not prefs.trips_wanted:
        return []
    if count == 1:
        return [0] if prefs.around else []
    days = range(count - 1)  # the last day stays light so people get home
    # "Around" trips are the point of the request; otherwise alternate with city days.
    return list(days) if prefs.around else [i for i in days if i % 2 == 1]


def assign_trips(
    destination: Destination, weather: Sequence[WeatherDay | None], prefs: Preferences
) -> dict[int, DayTrip]:
    """Day index -> the day trip taken that day, following the rules of this module."""
    pool = [t for t in destination.day_trips if t.train or not prefs.train_only]
    rank = {trip.en: index for index, trip in enumerate(destination.day_trips)}
    chosen: dict[int, DayTrip] = {}
    for index in _trip_days(len(weather), prefs):
        day = weather[index]
        wet = day is not None and day.is_wet
        previous = chosen.get(index - 1)
        after_long = previous is not None and previous.drive_hours >= LONG_DRIVE_HOURS
        fitting = [t for t in pool if _trip_fits(t, wet, after_long, only_short=len(weather) == 1)]
        if fitting:
            best = max(fitting, key=lambda t: _trip_score(t, rank[t.en], wet, prefs))
            chosen[index] = best
            pool.remove(best)
    return chosen


def _attraction_score(attraction: Attraction, wet: bool, prefs: Preferences) -> float:
    outdoor_bonus = 1.0 if not wet and not attraction.indoor else 0.0
    return 2 * _overlap(attraction.tags, prefs) + outdoor_bonus


def pick_attractions(
    destination: Destination, used: set[str], wet: bool, light: bool, prefs: Preferences
) -> tuple[Attraction, ...]:
    """The attractions of one city day, best first; records them in ``used``."""
    allowed = [a for a in destination.attractions if a.indoor or not wet]
    fresh = [a for a in allowed if a.en not in used] or allowed  # repeat only when stock runs out
    ranked = sorted(fresh, key=lambda a: -_attraction_score(a, wet, prefs))  # stable: data order breaks ties
    budget = LIGHT_DAY_HOURS if light else FULL_DAY_HOURS
    picked: list[Attraction] = []
    for attraction in ranked:
        fits = sum(a.hours for a in picked) + attraction.hours <= budget
        if (fits or (not picked and not light)) and len(picked) < MAX_ATTRACTIONS:
            picked.append(attraction)
    if not picked:  # a light day whose every sight is long: take the shortest
        picked.append(min(ranked, key=lambda a: a.hours))
    used.update(a.en for a in picked)
    return tuple(picked)


def trip_highlights(trip: DayTrip, wet: bool) -> tuple[Highlight, ...]:
    """The stops of a day trip that suit the weather: indoor only when wet, outdoor first when dry."""
    if wet:
        return tuple(h for h in trip.highlights if h.indoor)
    return tuple(sorted(trip.highlights, key=lambda h: h.indoor))


def choose_days(
    destination: Destination,
    dates: Sequence[date],
    weather: Sequence[WeatherDay | None],
    prefs: Preferences,
) -> list[DayChoice]:
    """One DayChoice per date: trips first assigned, then city days filled with attractions."""
    trips = assign_trips(destination, weather, prefs)
    foods: Iterator[Named] = cycle(destination.foods)
    used: set[str] = set()
    days: list[DayChoice] = []
    for index, (day, forecast) in enumerate(zip(dates, weather, strict=True)):
        wet = forecast is not None and forecast.is_wet
        last = index == len(dates) - 1 and len(dates) > 1
        trip = trips.get(index)
        if trip is not None:
            choice = DayChoice(day, forecast, trip=trip, highlights=trip_highlights(trip, wet),
                               meals=(trip.food, next(foods)))
        else:
            sights = pick_attractions(destination, used, wet, light=last, prefs=prefs)
            meals = (next(foods),) if last else (next(foods), next(foods))
            choice = DayChoice(day, forecast, attractions=sights, meals=meals, last=last)
        days.append(choice)
    return days
