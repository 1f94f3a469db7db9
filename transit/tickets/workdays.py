"""Working days (pure): Kazakhstan's public holidays, days off moved by law and by decree, and the deadline of
a ticket received at some moment and due in N working days.

The rules, in our words, and where they come from:

- Holidays. The Law of the Republic of Kazakhstan "On holidays" (2001, as amended in September 2022, which
  made 25 October Republic Day a holiday, kept only 16 December for Independence Day and dropped 1 December)
  makes these days off: 1-2 January, 8 March, 21-23 March (Nauryz), 1 May, 7 May, 9 May, 6 July, 30 August,
  25 October and 16 December. `FIRST_YEAR` is 2023, the first whole year under that list; earlier years
  are refused rather than computed wrongly.
- Moved days off. When one of those holidays falls on a Saturday or Sunday, the next working day after it is
  a day off (the Law's article 5; the Labour Code says the same, and the brief cites its article 85, whose
  exact paragraph we did not confirm). Two weekend holidays in a row move two days (Nauryz 2026: 21-25 March
  off), and a moved day skips days that are already off (7 May 2022 on a Saturday moved to Tuesday 10 May).
- Religious days off. Orthodox Christmas (7 January) and the first day of Kurban Ait are days off under the
  Labour Code (article 84), not holidays under the Law, so they are never moved (7 January 2023 was a
  Saturday and Monday 9 January was a working day). Kurban Ait follows the lunar calendar and is announced
  each year (the Spiritual Administration of Muslims of Kazakhstan gave 27 May 2026, warning that it may move
  by a day), so it is configuration (`extra_holidays`), not computed and not tabulated here.
- Decrees. The Government may move a day off to another day each year (Labour Code article 85, paragraph 3):
  the Saturday that becomes a working day goes in `working_weekend_days`, the weekday that becomes a day off
  in `extra_holidays`. Extra holidays are taken as given and never moved.
- Terms. A term counted in days starts on the day after the event that starts it (the general rule of
  Kazakh and Russian procedure; we did not find the exact article for appeals under the Administrative
  Procedural Code, which gives 15 working days for an appeal). So the day of receipt does not count.

A deadline is the *end* of its last working day, local time: 23:59:59.999999 on that day in the time zone of
the moment the ticket was received. A ticket is late when it is closed after `due_at` (`closed_at > due_at`).
Give `add_working_days` the receipt time in the city's zone (Asia/Almaty for Petropavl), not in UTC: the day
of receipt is the date of `start` in its own zone.

>>> calendar = WorkCalendar.kazakhstan([2026], extra_holidays=[dt.date(2026, 5, 27)])
>>> almaty = dt.timezone(dt.timedelta(hours=5), "Asia/Almaty")
>>> friday_evening = dt.datetime(2026, 3, 20, 18, 30, tzinfo=almaty)
>>> print(calendar.add_working_days(friday_evening, 1))  # Nauryz: 21 to 25 March are off
2026-03-26 23:59:59.999999+05:00
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from transit.errors import BadParameter

FIRST_YEAR = 2023  # the first whole year under the holiday list as amended in September 2022
COUNTRIES = ("KZ",)

# (month, day) of the holidays under the Law "On holidays"; a day off moves when one falls on a weekend.
_SECULAR = {
    "New Year": ((1, 1), (1, 2)),
    "International Women's Day": ((3, 8),),
    "Nauryz": ((3, 21), (3, 22), (3, 23)),
    "Unity Day": ((5, 1),),
    "Defender of the Fatherland Day": ((5, 7),),
    "Victory Day": ((5, 9),),
    "Capital Day": ((7, 6),),
    "Constitution Day": ((8, 30),),
    "Republic Day": ((10, 25),),
    "Independence Day": ((12, 16),),
}
# Days off under the Labour Code, never moved; Kurban Ait comes from configuration.
_RELIGIOUS = {"Orthodox Christmas": ((1, 7),)}
_SATURDAY_SUNDAY = frozenset({5, 6})
_ONE_DAY = dt.timedelta(days=1)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True, slots=True)
class WorkCalendar:
    """Which days are working days: not a holiday, and either a weekday or a weekend day made working by
    decree. `weekend` holds Python weekday numbers (Monday is 0)."""

    holidays: frozenset[dt.date]
    working_weekend_days: frozenset[dt.date] = frozenset()
    weekend: frozenset[int] = _SATURDAY_SUNDAY

    def __post_init__(self) -> None:
        if not self.weekend <= set(range(7)) or len(self.weekend) == 7:
            raise ValueError(f"weekend {sorted(self.weekend)} must be weekday numbers 0..6, not all seven")
        for day in (*self.holidays, *self.working_weekend_days):
            if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
                raise ValueError(f"{day!r} is not a date")
        for day in sorted(self.working_weekend_days):
            if day.weekday() not in self.weekend:
                raise ValueError(f"{day.isoformat()} is a {day:%A}, already a working day")
            if day in self.holidays:
                raise ValueError(f"{day.isoformat()} is a holiday and cannot be made a working day")

    @classmethod
    def kazakhstan(
        cls,
        years: Iterable[int],
        extra_holidays: Iterable[dt.date] = (),
        working_weekend_days: Iterable[dt.date] = (),
    ) -> WorkCalendar:
        """Kazakhstan's calendar for `years` (module docstring): Kurban Ait and the days off that decrees add
        go in `extra_holidays`, the Saturdays they make working in `working_weekend_days`.

        >>> calendar = WorkCalendar.kazakhstan([2026], working_weekend_days=[dt.date(2026, 1, 3)])
        >>> calendar.is_working_day(dt.date(2026, 1, 3)), calendar.is_working_day(dt.date(2026, 1, 7))
        (True, False)
        """
        chosen = sorted(set(years))
        if not chosen:
            raise ValueError("a Kazakhstan calendar needs at least one year")
        holidays = _days_off(chosen, frozenset(extra_holidays))
        return cls(holidays=holidays, working_weekend_days=frozenset(working_weekend_days))

    def is_working_day(self, day: dt.date) -> bool:
        """Whether `day` (a local date, not a datetime) is a working day.

        >>> WorkCalendar(frozenset()).is_working_day(dt.date(2026, 3, 21))  # a Saturday
        False
        """
        if isinstance(day, dt.datetime):
            raise TypeError("is_working_day takes a local date; take .date() in the city's time zone first")
        return self._works(day)

    def add_working_days(self, start: dt.datetime, days: int) -> dt.datetime:
        """The deadline of a ticket received at `start` (aware, local time) and due in `days` working days:
        the end (23:59:59.999999, in `start`'s zone) of the `days`-th working day after the day of receipt.
        `days=0` is the end of the day of receipt if that is a working day, else of the next working day.
        Escalation steps compose: `add_working_days(due_at, n)` is the end of the n-th working day after it.

        >>> tz = dt.timezone(dt.timedelta(hours=5))
        >>> calendar = WorkCalendar.kazakhstan([2026])
        >>> saturday = dt.datetime(2026, 1, 10, 9, 0, tzinfo=tz)
        >>> print(calendar.add_working_days(saturday, 0), calendar.add_working_days(saturday, 15), sep="\\n")
        2026-01-12 23:59:59.999999+05:00
        2026-01-30 23:59:59.999999+05:00
        """
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError(f"start {start.isoformat()} must be an aware datetime in the city's time zone")
        if days < 0:
            raise ValueError(f"days must be 0 or more, not {days}")
        day = start.date()
        if days == 0:
            while not self._works(day):
                day += _ONE_DAY
        for _ in range(days):
            day += _ONE_DAY
            while not self._works(day):
                day += _ONE_DAY
        return dt.datetime.combine(day, dt.time.max, tzinfo=start.tzinfo)

    def working_days_between(self, a: dt.date, b: dt.date) -> int:
        """The number of working days in (a, b]: after `a`, up to and including `b`; 0 when b <= a. For a
        ticket due on `a` and closed on `b`, how many working days late it is.

        >>> calendar = WorkCalendar.kazakhstan([2026])
        >>> calendar.working_days_between(dt.date(2026, 3, 20), dt.date(2026, 3, 27))  # 26 and 27 March
        2
        """
        if isinstance(a, dt.datetime) or isinstance(b, dt.datetime):
            raise TypeError("working_days_between takes local dates, not datetimes")
        span = (b - a).days
        return sum(1 for k in range(1, span + 1) if self._works(a + dt.timedelta(days=k)))

    def _works(self, day: dt.date) -> bool:
        if day in self.holidays:
            return False
        return day.weekday() not in self.weekend or day in self.working_weekend_days


def kazakhstan_holidays(year: int) -> frozenset[dt.date]:
    """The days off that the law fixes in `year` (FIRST_YEAR or later): the holidays, 7 January, and the
    days off moved from holidays on a weekend. Without Kurban Ait, which is declared each year.

    >>> march = sorted(d.day for d in kazakhstan_holidays(2026) if d.month == 3)
    >>> march  # 8 March is a Sunday (moved to the 9th); Nauryz 21-22 on the weekend (moved to 24-25)
    [8, 9, 21, 22, 23, 24, 25]
    """
    return _days_off([year], frozenset())


def _days_off(years: list[int], religious: frozenset[dt.date]) -> frozenset[dt.date]:
    for year in years:
        if not FIRST_YEAR <= year <= dt.MAXYEAR:
            raise ValueError(f"year {year}: the holiday rules here hold from {FIRST_YEAR}")
    secular = sorted(dt.date(y, m, d) for y in years for days in _SECULAR.values() for m, d in days)
    fixed = {dt.date(y, m, d) for y in years for days in _RELIGIOUS.values() for m, d in days}
    off = {*secular, *fixed, *religious}
    for holiday in secular:  # in date order, so that two weekend holidays move to two different days
        if holiday.weekday() in _SATURDAY_SUNDAY:
            moved = holiday + _ONE_DAY
            while moved in off or moved.weekday() in _SATURDAY_SUNDAY:
                moved += _ONE_DAY
            off.add(moved)
    return frozenset(off)


_FIELDS = ("country", "years", "extra_holidays", "working_weekend_days")


def parse_calendar(mapping: Mapping[str, Any], source: str) -> WorkCalendar:
    """The calendar a configuration table declares; BadParameter naming `source` and the field.

    Shape: {"country": "KZ", "years": [2026], "extra_holidays": ["2026-05-27"], "working_weekend_days": []}.
    Dates are "YYYY-MM-DD" strings or TOML dates.

    >>> calendar = parse_calendar({"country": "KZ", "years": [2026]}, "catalog.toml")
    >>> calendar.is_working_day(dt.date(2026, 3, 24))
    False
    >>> parse_calendar({"country": "RU", "years": [2026]}, "catalog.toml")
    Traceback (most recent call last):
    ...
    transit.errors.BadParameter: catalog.toml, country: 'RU' is not a country we know (KZ)
    """
    unknown = sorted(set(mapping) - set(_FIELDS))
    if unknown:
        raise BadParameter(f"{source}, {unknown[0]}: not a calendar field ({', '.join(_FIELDS)})")
    country = mapping.get("country")
    if country is None:
        raise BadParameter(f"{source}, country: missing ({', '.join(COUNTRIES)})")
    if country not in COUNTRIES:
        raise BadParameter(
            f"{source}, country: {country!r} is not a country we know ({', '.join(COUNTRIES)})"
        )
    years = mapping.get("years")
    if not isinstance(years, list | tuple) or not years:
        raise BadParameter(f"{source}, years: a non-empty list of years is needed, not {years!r}")
    for year in years:
        if not isinstance(year, int) or isinstance(year, bool) or not FIRST_YEAR <= year <= dt.MAXYEAR:
            raise BadParameter(f"{source}, years: {year!r} is not a year from {FIRST_YEAR}")
    extra = _dates(mapping.get("extra_holidays", []), f"{source}, extra_holidays")
    working = _dates(mapping.get("working_weekend_days", []), f"{source}, working_weekend_days")
    try:
        return WorkCalendar.kazakhstan(years, extra, working)
    except ValueError as exc:  # only the working weekend days can still be wrong here
        raise BadParameter(f"{source}, working_weekend_days: {exc}") from None


def _dates(value: object, where: str) -> list[dt.date]:
    if not isinstance(value, list | tuple):
        raise BadParameter(f"{where}: a list of dates (YYYY-MM-DD) is needed, not {value!r}")
    found: list[dt.date] = []
    for item in value:
        if isinstance(item, dt.date) and not isinstance(item, dt.datetime):
            found.append(item)
            continue
        try:
            if not isinstance(item, str) or not _ISO_DATE.fullmatch(item):
                raise ValueError
            found.append(dt.date.fromisoformat(item))
        except ValueError:
            raise BadParameter(f"{where}: {item!r} is not a date (YYYY-MM-DD)") from None
    return found
