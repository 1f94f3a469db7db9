"""Working days in Kazakhstan: the holiday list, moved days off, deadlines and the calendar configuration."""

from __future__ import annotations

import datetime as dt
import tomllib
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transit.errors import BadParameter
from transit.tickets.workdays import WorkCalendar, kazakhstan_holidays, parse_calendar

ALMATY = ZoneInfo("Asia/Almaty")
PLUS_FIVE = dt.timezone(dt.timedelta(hours=5))
D = dt.date.fromisoformat
KURBAN_AIT = [D("2025-06-06"), D("2026-05-27")]  # as configured in catalog.toml; 2026 announced, ±1 day
KZ = WorkCalendar.kazakhstan([2025, 2026, 2027], extra_holidays=KURBAN_AIT)


def at(text: str, tz: dt.tzinfo = ALMATY) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=tz)


def end_of(day: str, tz: dt.tzinfo = ALMATY) -> dt.datetime:
    return dt.datetime.combine(D(day), dt.time.max, tzinfo=tz)


# --- the holiday list ---------------------------------------------------------------------------------


def test_days_off_of_2026_are_the_law_plus_the_days_moved_from_weekends():
    expected = {
        "2026-01-01", "2026-01-02", "2026-01-07",  # New Year (Thu, Fri), Orthodox Christmas (Wed)
        "2026-03-08", "2026-03-09",  # Women's Day on a Sunday, moved to Monday
        "2026-03-21", "2026-03-22", "2026-03-23", "2026-03-24", "2026-03-25",  # Nauryz from Saturday
        "2026-05-01", "2026-05-07",  # Unity Day (Fri), Defender of the Fatherland Day (Thu)
        "2026-05-09", "2026-05-11",  # Victory Day on a Saturday, moved to Monday
        "2026-07-06",  # Capital Day (Mon)
        "2026-08-30", "2026-08-31",  # Constitution Day on a Sunday
        "2026-10-25", "2026-10-26",  # Republic Day on a Sunday
        "2026-12-16",  # Independence Day (Wed)
    }  # fmt: skip
    assert kazakhstan_holidays(2026) == {D(d) for d in expected}


def test_nauryz_2026_starting_on_a_saturday_moves_two_days_off_to_tuesday_and_wednesday():
    assert (D("2026-03-21").strftime("%a"), D("2026-03-24").strftime("%a")) == ("Sat", "Tue")
    nauryz = [d for d in sorted(kazakhstan_holidays(2026)) if d.month == 3 and d.day > 20]
    assert nauryz == [D(f"2026-03-{day}") for day in (21, 22, 23, 24, 25)]
    assert KZ.is_working_day(D("2026-03-26"))


@pytest.mark.parametrize(
    ("holiday", "moved_to"),
    [
        ("2023-05-07", "2023-05-08"),  # Defender of the Fatherland Day on a Sunday
        ("2024-07-06", "2024-07-08"),  # Capital Day on a Saturday
        ("2025-03-08", "2025-03-10"),  # Women's Day on a Saturday
        ("2025-10-25", "2025-10-27"),  # Republic Day on a Saturday
        ("2027-01-02", "2027-01-04"),  # the second day of the New Year on a Saturday
        ("2027-05-01", "2027-05-03"),  # Unity Day on a Saturday
    ],
)
def test_a_holiday_on_a_weekend_moves_a_day_off_to_the_next_working_day(holiday, moved_to):
    days_off = kazakhstan_holidays(D(holiday).year)
    assert D(holiday) in days_off
    assert D(moved_to) in days_off
    assert D(moved_to).weekday() < 5


def test_a_moved_day_off_skips_a_day_that_is_already_off():
    # 1 and 2 January 2028 are a Saturday and a Sunday: Monday 3 and Tuesday 4 January are off.
    assert {D("2028-01-03"), D("2028-01-04")} <= kazakhstan_holidays(2028)
    # Victory Day 2026 is a Saturday; were Monday 11 May declared off, the moved day would be Tuesday 12 May.
    calendar = WorkCalendar.kazakhstan([2026], extra_holidays=[D("2026-05-11")])
    assert not calendar.is_working_day(D("2026-05-12"))
    assert calendar.is_working_day(D("2026-05-13"))


def test_orthodox_christmas_on_a_saturday_is_not_moved():
    assert D("2023-01-07").weekday() == 5
    calendar = WorkCalendar.kazakhstan([2023])
    assert not calendar.is_working_day(D("2023-01-07"))
    assert calendar.is_working_day(D("2023-01-09"))


def test_kurban_ait_on_a_sunday_is_not_moved():
    assert D("2024-06-16").weekday() == 6
    calendar = WorkCalendar.kazakhstan([2024], extra_holidays=[D("2024-06-16")])
    assert not calendar.is_working_day(D("2024-06-16"))
    assert calendar.is_working_day(D("2024-06-17"))


def test_kurban_ait_is_a_day_off_only_when_configured():
    assert WorkCalendar.kazakhstan([2026]).is_working_day(D("2026-05-27"))
    assert not KZ.is_working_day(D("2026-05-27"))


def test_years_before_the_2022_amendment_are_refused():
    with pytest.raises(ValueError, match="2022"):
        kazakhstan_holidays(2022)
    with pytest.raises(ValueError, match="at least one year"):
        WorkCalendar.kazakhstan([])


# --- deadlines ----------------------------------------------------------------------------------------


def test_15_working_days_across_nauryz():
    # Monday 16 March 2026: 17-20 (4), Nauryz 21-25 off, 26-27 (6), 30 March-3 April (11), 6-9 April (15).
    assert KZ.add_working_days(at("2026-03-16T10:00"), 15) == end_of("2026-04-09")


def test_15_working_days_across_new_year_and_christmas():
    # Wednesday 24 December 2025: 25-26 (2), 29-31 (5), 1-2 January off, 5-6 (7), 7 January off,
    # 8-9 (9), 12-16 (14), 19 January (15).
    assert KZ.add_working_days(at("2025-12-24T15:00"), 15) == end_of("2026-01-19")


def test_the_day_of_receipt_does_not_count():
    assert KZ.add_working_days(at("2026-04-14T08:00"), 1) == end_of("2026-04-15")


@pytest.mark.parametrize(
    ("received", "due"),
    [
        ("2026-04-14T08:00", "2026-04-14"),  # a Tuesday: the end of that day
        ("2026-04-18T08:00", "2026-04-20"),  # a Saturday: the end of Monday
        ("2026-03-23T08:00", "2026-03-26"),  # a Nauryz holiday: the end of the first day after it
    ],
)
def test_zero_days_is_the_end_of_the_day_of_receipt_or_of_the_next_working_day(received, due):
    assert KZ.add_working_days(at(received), 0) == end_of(due)


def test_a_ticket_received_late_on_friday_evening_counts_from_monday():
    # Friday 6 March 2026, 23:59 local; Monday 9 March is off for Women's Day (a Sunday).
    assert KZ.add_working_days(at("2026-03-06T23:59:59"), 1) == end_of("2026-03-10")


def test_the_day_of_receipt_is_the_local_date_of_start():
    received = at("2026-04-16T00:30")  # Thursday 00:30 in Petropavl is still Wednesday 19:30 UTC
    assert KZ.add_working_days(received, 1) == end_of("2026-04-17")
    in_utc = KZ.add_working_days(received.astimezone(dt.UTC), 1)
    assert in_utc == end_of("2026-04-16", dt.UTC)  # counted from Wednesday: convert to local time first


def test_a_saturday_made_working_by_decree_counts():
    decree = WorkCalendar.kazakhstan([2026], working_weekend_days=[D("2026-04-18")])  # a made-up decree
    friday = at("2026-04-17T12:00")
    assert decree.add_working_days(friday, 1) == end_of("2026-04-18")
    assert WorkCalendar.kazakhstan([2026]).add_working_days(friday, 1) == end_of("2026-04-20")


@pytest.mark.parametrize("tz", [ALMATY, PLUS_FIVE, dt.UTC], ids=["Asia/Almaty", "+05:00", "UTC"])
def test_the_deadline_keeps_the_time_zone_of_the_receipt(tz):
    due = KZ.add_working_days(at("2026-04-14T08:00", tz), 3)
    assert due.tzinfo is tz
    assert (due.date(), due.time()) == (D("2026-04-17"), dt.time.max)


def test_an_escalation_step_counts_working_days_after_the_deadline():
    due = KZ.add_working_days(at("2026-03-16T10:00"), 15)
    assert KZ.add_working_days(due, 2) == end_of("2026-04-13")  # Friday 10, Monday 13 April


def test_a_naive_start_or_negative_days_are_refused():
    with pytest.raises(ValueError, match="aware"):
        KZ.add_working_days(dt.datetime(2026, 4, 14, 8, 0), 1)
    with pytest.raises(ValueError, match="0 or more"):
        KZ.add_working_days(at("2026-04-14T08:00"), -1)


# --- how late -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "count"),
    [
        ("2026-04-14", "2026-04-14", 0),  # the same day
        ("2026-04-15", "2026-04-14", 0),  # b before a
        ("2026-04-14", "2026-04-15", 1),  # the next day
        ("2026-04-17", "2026-04-19", 0),  # Friday to Sunday
        ("2026-04-17", "2026-04-20", 1),  # Friday to Monday
        ("2026-03-20", "2026-03-27", 2),  # across Nauryz: 26 and 27 March
        ("2026-03-23", "2026-03-25", 0),  # inside Nauryz
    ],
)
def test_working_days_between_counts_the_working_days_after_a_up_to_b(a, b, count):
    assert KZ.working_days_between(D(a), D(b)) == count


def test_calendar_queries_take_dates_not_datetimes():
    with pytest.raises(TypeError):
        KZ.is_working_day(at("2026-03-23T08:00"))
    with pytest.raises(TypeError):
        KZ.working_days_between(at("2026-03-20T08:00"), D("2026-03-27"))


# --- the calendar's own checks and configuration ------------------------------------------------------


def test_a_calendar_refuses_inconsistent_days():
    with pytest.raises(ValueError, match="not all seven"):
        WorkCalendar(frozenset(), weekend=frozenset(range(7)))
    with pytest.raises(ValueError, match="already a working day"):
        WorkCalendar(frozenset(), working_weekend_days=frozenset({D("2026-04-20")}))
    with pytest.raises(ValueError, match="is a holiday"):
        WorkCalendar(frozenset({D("2026-03-21")}), working_weekend_days=frozenset({D("2026-03-21")}))
    with pytest.raises(ValueError, match="not a date"):
        WorkCalendar(frozenset({at("2026-03-21T00:00")}))


def test_a_toml_calendar_table_is_read_with_strings_or_native_dates():
    document = tomllib.loads(
        '[calendar]\ncountry = "KZ"\nyears = [2025, 2026, 2027]\n'
        'extra_holidays = ["2025-06-06", 2026-05-27]\nworking_weekend_days = []\n'
    )
    assert parse_calendar(document["calendar"], "catalog.toml, calendar") == KZ


def test_a_calendar_table_with_only_country_and_years_is_enough():
    calendar = parse_calendar({"country": "KZ", "years": [2026]}, "catalog.toml")
    assert calendar == WorkCalendar.kazakhstan([2026])


GOOD = {"country": "KZ", "years": [2026], "extra_holidays": ["2026-05-27"], "working_weekend_days": []}


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        ({"country": None}, "country", "missing"),
        ({"country": "RU"}, "country", "'RU' is not a country we know"),
        ({"years": []}, "years", "non-empty list"),
        ({"years": 2026}, "years", "non-empty list"),
        ({"years": [2022]}, "years", "2022 is not a year from 2023"),
        ({"years": [True]}, "years", "True is not a year"),
        ({"years": ["2026"]}, "years", "'2026' is not a year"),
        ({"extra_holidays": ["2026-13-01"]}, "extra_holidays", "'2026-13-01' is not a date"),
        ({"extra_holidays": ["27.05.2026"]}, "extra_holidays", "'27.05.2026' is not a date"),
        ({"extra_holidays": ["20260527"]}, "extra_holidays", "'20260527' is not a date"),
        ({"extra_holidays": [dt.datetime(2026, 5, 27)]}, "extra_holidays", "is not a date"),
        ({"extra_holidays": "2026-05-27"}, "extra_holidays", "a list of dates"),
        ({"working_weekend_days": ["2026-04-20"]}, "working_weekend_days", "a Monday, already a working day"),
        ({"working_weekend_days": ["2026-03-21"]}, "working_weekend_days", "2026-03-21 is a holiday"),
        ({"weekend": [4, 5]}, "weekend", "not a calendar field"),
    ],
)
def test_a_bad_calendar_table_names_the_source_and_the_field(change, field, says):
    table = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    with pytest.raises(BadParameter) as caught:
        parse_calendar(table, "catalog.toml, calendar")
    assert str(caught.value).startswith(f"catalog.toml, calendar, {field}: ")
    assert says in str(caught.value)


# --- properties ---------------------------------------------------------------------------------------

starts = st.datetimes(
    min_value=dt.datetime(2025, 1, 1),
    max_value=dt.datetime(2026, 12, 31, 23, 59, 59),
    timezones=st.sampled_from([ALMATY, PLUS_FIVE, dt.UTC]),
)
year_2026 = st.dates(min_value=D("2026-01-01"), max_value=D("2026-12-31"))


@st.composite
def calendars(draw: st.DrawFn) -> WorkCalendar:
    """Kazakhstan's, or a made-up one: random holidays and working weekend days around 2026."""
    if draw(st.booleans()):
        return KZ
    holidays = draw(st.frozensets(year_2026, max_size=80))
    saturdays = draw(st.frozensets(year_2026, max_size=20))
    working = frozenset(d for d in saturdays if d.weekday() == 5 and d not in holidays)
    return WorkCalendar(holidays, working)


@given(calendars(), starts, st.integers(min_value=0, max_value=40))
def test_a_deadline_is_the_end_of_a_working_day_in_the_zone_of_the_receipt(calendar, start, days):
    due = calendar.add_working_days(start, days)
    assert calendar.is_working_day(due.date())
    assert due.tzinfo is start.tzinfo
    assert due.time() == dt.time.max
    assert due >= start


@given(calendars(), starts, st.integers(min_value=0, max_value=40))
def test_deadlines_grow_with_the_days_and_count_back_exactly(calendar, start, days):
    due, later = calendar.add_working_days(start, days), calendar.add_working_days(start, days + 1)
    assert later > due if days >= 1 else later >= due
    if days >= 1:
        assert calendar.working_days_between(start.date(), due.date()) == days
        assert calendar.working_days_between(start.date(), due.date() - dt.timedelta(days=1)) == days - 1


@given(calendars(), st.lists(year_2026, min_size=3, max_size=3).map(sorted))
def test_working_days_between_adds_up_over_consecutive_spans(calendar, abc):
    a, b, c = abc
    assert calendar.working_days_between(a, b) + calendar.working_days_between(b, c) == (
        calendar.working_days_between(a, c)
    )
