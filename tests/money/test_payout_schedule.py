"""When a store is paid out, and what its Stripe account is told, for each schedule setting.

The periods and due days are what the store owner sees on the payouts page ("next payout on
Monday", one payout per week); the schedule is what Stripe then does on its own.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest

from storeplex.payouts.service import is_due, period_of, stripe_schedule

SCHEDULES = ("daily", "weekly", "monthly")
PLUS_TWO = timezone(timedelta(hours=2))
MINUS_FIVE = timezone(timedelta(hours=-5))


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("daily", {"interval": "daily"}),
        ("weekly", {"interval": "weekly", "weekly_anchor": "monday"}),
        ("monthly", {"interval": "monthly", "monthly_anchor": 1}),
    ],
)
def test_without_a_minimum_stripe_pays_out_on_the_stores_schedule(
    schedule: str, expected: dict[str, object]
) -> None:
    assert stripe_schedule(schedule, 0) == expected


@pytest.mark.parametrize("schedule", SCHEDULES)
@pytest.mark.parametrize("minimum", [1, 50, 1_000_000])
def test_with_any_minimum_stripe_holds_the_money_for_our_payout_job(
    schedule: str, minimum: int
) -> None:
    # Stripe has no minimum-payout setting: above zero we pay out ourselves.
    assert stripe_schedule(schedule, minimum) == {"interval": "manual"}


def test_every_day_is_a_payout_day_on_the_daily_schedule() -> None:
    start = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert all(is_due("daily", start + timedelta(days=n)) for n in range(31))


def test_the_weekly_schedule_pays_on_mondays_only() -> None:
    start = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # a Monday
    due = [is_due("weekly", start + timedelta(days=n)) for n in range(14)]
    assert due == [True, False, False, False, False, False, False] * 2


def test_the_monthly_schedule_pays_on_the_first_only() -> None:
    start = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    due_days = [
        (start + timedelta(days=n)).date().isoformat()
        for n in range(62)
        if is_due("monthly", start + timedelta(days=n))
    ]
    assert due_days == ["2026-11-01", "2026-12-01", "2027-01-01"]


def test_the_due_day_is_the_utc_day_whatever_the_clock_zone() -> None:
    # Monday 01:00 at +02:00 is still Sunday 23:00 in UTC: not due yet.
    assert not is_due("weekly", datetime(2026, 11, 23, 1, 0, tzinfo=PLUS_TWO))
    # Sunday 20:00 at -05:00 is Monday 01:00 in UTC: due.
    assert is_due("weekly", datetime(2026, 11, 22, 20, 0, tzinfo=MINUS_FIVE))
    # The 1st at 01:00 at +02:00 is the last day of the month before in UTC.
    assert not is_due("monthly", datetime(2026, 12, 1, 1, 0, tzinfo=PLUS_TWO))
    assert is_due("monthly", datetime(2026, 11, 30, 20, 0, tzinfo=MINUS_FIVE))


@pytest.mark.parametrize(
    ("now", "daily", "weekly", "monthly"),
    [
        (datetime(2026, 11, 26, 9, 0, tzinfo=UTC), "2026-11-26", "2026-W48", "2026-11"),
        (datetime(2026, 1, 5, 9, 0, tzinfo=UTC), "2026-01-05", "2026-W02", "2026-01"),
        # The last days of 2026 and the first of 2027 share ISO week 53 of 2026.
        (datetime(2026, 12, 31, 9, 0, tzinfo=UTC), "2026-12-31", "2026-W53", "2026-12"),
        (datetime(2027, 1, 1, 9, 0, tzinfo=UTC), "2027-01-01", "2026-W53", "2027-01"),
        (datetime(2027, 1, 4, 9, 0, tzinfo=UTC), "2027-01-04", "2027-W01", "2027-01"),
        # 23:30 on 30 November at -05:00 is already 1 December in UTC.
        (datetime(2026, 11, 30, 23, 30, tzinfo=MINUS_FIVE), "2026-12-01", "2026-W49", "2026-12"),
        # 00:30 on 1 December at +02:00 is still 30 November in UTC.
        (datetime(2026, 12, 1, 0, 30, tzinfo=PLUS_TWO), "2026-11-30", "2026-W49", "2026-11"),
        (datetime(2026, 11, 30, 0, 30, tzinfo=PLUS_TWO), "2026-11-29", "2026-W48", "2026-11"),
    ],
)
def test_each_payout_belongs_to_one_period_of_its_schedule(
    now: datetime, daily: str, weekly: str, monthly: str
) -> None:
    assert [period_of(s, now) for s in SCHEDULES] == [daily, weekly, monthly]


@pytest.fixture
def server_far_east_of_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local time zone set to UTC+14 (Kiritimati), as a badly set server's."""
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("server_far_east_of_utc")
def test_the_servers_own_time_zone_changes_no_payout_day_or_period() -> None:
    assert time.localtime().tm_gmtoff == 14 * 3600  # the zone really is in effect
    sunday_evening = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)  # Monday 10:00 in Kiritimati
    assert not is_due("weekly", sunday_evening)
    last_of_month = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)  # 1 December there
    assert not is_due("monthly", last_of_month)
    assert [period_of(s, last_of_month) for s in SCHEDULES] == ["2026-11-30", "2026-W49", "2026-11"]
    assert period_of("weekly", sunday_evening) == "2026-W47"
