"""Which sights go on which day: the ranking and scheduling rules of the offline planner.

Nothing here writes user-facing text; :mod:`agents.travel.render` turns the chosen
:class:`DayChoice` values into activities in the request's language.

Rules, in order of precedence:
- only a forecast decides that a day is wet (then indoor sights only); climate normals never do, so
  every day keeps an indoor alternative instead;
- a sight is never repeated in a trip; when the stock runs out, a day trip is added, else the day
  is declared free (never recycled);
- a full city day has at least two sights, or one long one (3.5 h or more); sights closed that
  weekday or out of season are skipped; a tight budget skips expensive tickets;
- with children or older people the pace is slower: at most two sights and five hours a day;
- day trips when the user asked for trips "around" the city, or for self-drive trips longer than
  two days; public-transport trips only use trips reachable by train; no two long drives (2 h or
  more one way) in a row, and the last day stays light;
- attractions are ranked by overlap with the user's interests.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import cycle

from agents.knowledge.models import Attraction, DayTrip, Destination, Highlight, Interest, Named
from agents.knowledge.rules import is_pricey, is_snack, opening
from bot.schemas import Budget, TravelMode, TripRequest, WeatherDay

LONG_DRIVE_HOURS = 2.0
FULL_DAY_HOURS = 7.5  # sightseeing hours in a full city day, meals and transfers aside
SLOW_DAY_HOURS = 5.0  # with children or older people
LIGHT_DAY_HOURS = 4.0
TRANSFER_DAY_HOURS = 3.0
LONG_SIGHT_HOURS = 3.5  # one sight this long fills a day on its own
MAX_ATTRACTIONS = 3
SLOW_MAX_ATTRACTIONS = 2
SIGHTS_PER_DAY = 2.5  # what a city day uses up on average, to see when the stock runs short

_SYNONYMS = {
    "美食": Interest.FOOD, "吃": Interest.FOOD, "历史": Interest.HISTORY, "古迹": Interest.HISTORY,
    "自然": Interest.NATURE, "风景": Interest.NATURE, "徒步": Interest.HIKING, "爬山": Interest.HIKING,
    "购物": Interest.SHOPPING, "博物馆": Interest.MUSEUMS, "亲子": Interest.KIDS, "摄影": Interest.PHOTOGRAPHY,
    "拍照": Interest.PHOTOGRAPHY, "温泉": Interest.HOT_SPRINGS, "夜生活": Interest.NIGHTLIFE,
    "夜景": Interest.NIGHTLIFE, "艺术": Interest.ART, "寺庙": Interest.TEMPLES, "茶": Interest.TEA,
    "museum": Interest.MUSEUMS, "temple": Interest.TEMPLES, "hike": Interest.HIKING,
    "hot spring": Interest.HOT_SPRINGS, "hot springs": Interest.HOT_SPRINGS, "children": Interest.KIDS,
}
# When a city's listed foods are all snacks, meals are still meals: a local restaurant.
_LOCAL_RESTAURANT = Named(en="a local restaurant", zh="当地餐馆")
_KID_WORDS = ("孩子", "小孩", "儿童", "亲子", "宝宝", "娃", "kid", "child", "family", "toddler")


@dataclass(frozen=True)
class Preferences:
    """What the request asks of the selection, derived once from the TripRequest."""

    interests: frozenset[Interest]
    trips_wanted: bool
    around: bool
    train_only: bool
    kids: bool
    slow: bool = False  # children or older people: fewer sights, shorter days
    low_budget: bool = False
    arriving: bool = False  # the first day starts with a transfer from another city
    continuing: bool = False  # the trip goes on to another city: the last day is a full one


@dataclass(frozen=True)
class DayChoice:
    """The selection for one date: a city day (attractions), a day trip (highlights), a transfer or a free day."""

    date: date
    weather: WeatherDay | None
    attractions: tuple[Attraction, ...] = ()
    trip: DayTrip | None = None
    highlights: tuple[Highlight, ...] = ()
    meals: tuple[Named, ...] = ()  # lunch, then dinner when there is one
    last: bool = False
    free: bool = False  # the catalog ran out of fresh sights: a day at the party's own pace
    transfer: bool = False  # arrives from the previous city this morning
    alternative: Attraction | None = None  # indoor plan B on a day planned outdoors
    snack: Named | None = None

    @property
    def wet(self) -> bool:
        """True when a forecast sends everyone indoors (climate normals never do)."""
        return self.weather is not None and self.weather.expected_wet


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
    kids = request.children > 0 or any(word in text for word in _KID_WORDS) or Interest.KIDS in interests
    if kids:
        interests.add(Interest.KIDS)
    self_drive = request.mode is TravelMode.SELF_DRIVE
    return Preferences(
        interests=frozenset(interests),
        trips_wanted=request.around or (self_drive and request.days > 2),
        around=request.around,
        train_only=request.mode is TravelMode.PUBLIC_TRANSPORT,
        kids=kids,
        slow=kids or request.seniors > 0,
        low_budget=request.budget is Budget.LOW,
        arriving=request.arrive_from is not None,
        continuing=request.depart_to is not None,
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
    days = range(1 if prefs.arriving else 0, count - 1)  # the last day stays light so people get home
    # "Around" trips are the point of the request; otherwise alternate with city days.
    return list(days) if prefs.around else [i for i in days if i % 2 == 1]


def _short_of_sights(destination: Destination, count: int, trips: int, prefs: Preferences) -> int:
    """How many more day trips a stay of ``count`` days needs so that no sight is recycled."""
    stock = sum(not (prefs.low_budget and is_pricey(a)) for a in destination.attractions)
    city_days = count - trips
    per_day = SLOW_MAX_ATTRACTIONS if prefs.slow else SIGHTS_PER_DAY
    missing = city_days * per_day - stock
    return max(0, int(missing // per_day + (missing % per_day > 0)))


def assign_trips(
    destination: Destination, weather: Sequence[WeatherDay | None], prefs: Preferences
) -> dict[int, DayTrip]:
    """Day index -> the day trip taken that day, following the rules of this module."""
    pool = [t for t in destination.day_trips if t.train or not prefs.train_only]
    rank = {trip.en: index for index, trip in enumerate(destination.day_trips)}
    chosen: dict[int, DayTrip] = {}
    wanted = _trip_days(len(weather), prefs)
    extra = _short_of_sights(destination, len(weather), len(wanted), prefs)
    if extra:  # a long stay: spread extra trips over the middle days, never the first or the last
        middle = [i for i in range(len(weather) - 2, 0, -2) if i not in wanted]
        wanted = sorted({*wanted, *middle[:extra]})
    for index in wanted:
        day = weather[index]
        wet = day is not None and day.expected_wet
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


def _fills_a_day(picked: Sequence[Attraction]) -> bool:
    return len(picked) >= 2 or any(a.hours >= LONG_SIGHT_HOURS for a in picked)


def pick_attractions(
    destination: Destination, used: set[str], day: date, wet: bool, hours: float, prefs: Preferences
) -> tuple[Attraction, ...]:
    """Fresh attractions for one city day within ``hours``, best first; records them in ``used``.

    Empty when nothing fresh is open that day: the caller declares a free day instead of repeating.
    """
    allowed = [
        a for a in destination.attractions
        if a.en not in used and (a.indoor or not wet) and opening(destination, a).open_on(day)
        and not (prefs.low_budget and is_pricey(a))
    ]
    ranked = sorted(allowed, key=lambda a: -_attraction_score(a, wet, prefs))  # stable: data order breaks ties
    most = SLOW_MAX_ATTRACTIONS if prefs.slow else MAX_ATTRACTIONS
    picked: list[Attraction] = []
    for attraction in ranked:
        fits = sum(a.hours for a in picked) + attraction.hours <= hours
        if (fits or not picked) and len(picked) < most:
            picked.append(attraction)
    used.update(a.en for a in picked)
    return tuple(picked)


def trip_highlights(trip: DayTrip, wet: bool, slow: bool = False) -> tuple[Highlight, ...]:
    """The stops of a day trip that suit the weather: indoor only when wet, outdoor first when dry;
    two at most at a slow pace."""
    stops = [h for h in trip.highlights if h.indoor] if wet else sorted(trip.highlights, key=lambda h: h.indoor)
    return tuple(stops[:SLOW_MAX_ATTRACTIONS] if slow else stops)


def _day_hours(prefs: Preferences, last: bool, transfer: bool) -> float:
    if transfer:
        return TRANSFER_DAY_HOURS
    if last:
        return LIGHT_DAY_HOURS
    return SLOW_DAY_HOURS if prefs.slow else FULL_DAY_HOURS


def _alternative(destination: Destination, day: date, chosen: Sequence[DayChoice]) -> Attraction | None:
    """An indoor sight open that day and not on any day's plan: plan B if the weather turns."""
    planned = {a.en for c in chosen for a in c.attractions}
    spare = [a for a in destination.attractions
             if a.indoor and a.en not in planned and opening(destination, a).open_on(day)]
    return spare[0] if spare else None


def choose_days(
    destination: Destination,
    dates: Sequence[date],
    weather: Sequence[WeatherDay | None],
    prefs: Preferences,
) -> list[DayChoice]:
    """One DayChoice per date: trips first assigned, then city days filled with fresh attractions."""
    trips = assign_trips(destination, weather, prefs)
    meals_only = [f for f in destination.foods if not is_snack(f.en)]
    if len(meals_only) < 3:  # one dish at every meal is no plan: alternate with the local restaurants
        meals_only.append(_LOCAL_RESTAURANT)
    snacks = [f for f in destination.foods if is_snack(f.en)]
    foods: Iterator[Named] = cycle(meals_only)
    snack_cycle: Iterator[Named] | None = cycle(snacks) if snacks else None
    used: set[str] = set()
    days: list[DayChoice] = []
    for index, (day, forecast) in enumerate(zip(dates, weather, strict=True)):
        wet = forecast is not None and forecast.expected_wet
        last = index == len(dates) - 1 and len(dates) > 1 and not prefs.continuing
        transfer = index == 0 and prefs.arriving
        snack = next(snack_cycle) if snack_cycle is not None else None
        trip = trips.get(index)
        if trip is not None:
            days.append(DayChoice(day, forecast, trip=trip, highlights=trip_highlights(trip, wet, prefs.slow),
                                  meals=(trip.food if not is_snack(trip.food.en) else next(foods), next(foods)),
                                  snack=snack))
            continue
        sights = pick_attractions(destination, used, day, wet, _day_hours(prefs, last, transfer), prefs)
        meals = (next(foods),) if last else (next(foods), next(foods))
        full = not (last or transfer)
        free = not sights or (full and not _fills_a_day(sights))
        days.append(DayChoice(day, forecast, attractions=sights, meals=meals, last=last, free=free,
                              transfer=transfer, snack=snack))
    return [
        choice if choice.trip is not None or choice.wet or any(a.indoor for a in choice.attractions)
        else _with_alternative(choice, _alternative(destination, choice.date, days))
        for choice in days
    ]


def _with_alternative(choice: DayChoice, alternative: Attraction | None) -> DayChoice:
    return DayChoice(choice.date, choice.weather, choice.attractions, choice.trip, choice.highlights, choice.meals,
                     choice.last, choice.free, choice.transfer, alternative, choice.snack)
