"""When enquiries arrive: growth over the years, seasonal peaks, weekday and hour-of-day patterns.

Arrival times are drawn by inverse transform over an hourly intensity table, stratified
by the enquiry's index (the i-th of N falls in the i-th 1/N of the cumulative intensity),
so times come out in order, any enquiry's time depends only on (seed, index), and nothing
needs to be held in memory but the table (one float per hour).
"""

from __future__ import annotations

import bisect
from datetime import datetime, timedelta, timezone
from itertools import accumulate

# Relative intensity by weekday (Monday first) and hour of day (UK office patterns).
WEEKDAY = [1.35, 1.2, 1.1, 1.05, 0.95, 0.3, 0.2]
HOUR = [0.05, 0.03, 0.02, 0.02, 0.03, 0.06, 0.15, 0.4, 0.9, 1.4, 1.5, 1.4,
        1.2, 1.3, 1.35, 1.25, 1.1, 0.9, 0.7, 0.6, 0.5, 0.4, 0.25, 0.12]

# Relative intensity by month (January first): the January tax-return and new-year peak, the
# spring peak around the end of the tax and benefit year, the August holiday lull, the autumn
# return and the Christmas lull. Capacity does not follow it (workload.py), so peaks make queues.
MONTH = [1.3, 1.1, 1.15, 1.1, 1.0, 0.95, 0.9, 0.75, 1.05, 1.05, 1.0, 0.8]

DEFAULT_END = datetime(2026, 6, 30, tzinfo=timezone.utc)   # the simulation clock: never "now"
DEFAULT_START = datetime(2018, 7, 1, tzinfo=timezone.utc)


# Growth of the arrival rate, per year, as a share of the first year's rate: 60% over the
# default eight years. Per year, not per period, so the intensity of any hour does not depend
# on where the period ends: a dataset grown to a later end (growth.py) keeps its past.
GROWTH_PER_YEAR = 0.075
HOURS_PER_YEAR = 365.25 * 24


class ArrivalCalendar:
    def __init__(self, start: datetime, end: datetime, growth_per_year: float = GROWTH_PER_YEAR):
        self.start = start
        hours = int((end - start).total_seconds() // 3600)
        weights = []
        for h in range(hours):
            t = start + timedelta(hours=h)
            trend = 1.0 + growth_per_year * h / HOURS_PER_YEAR
            weights.append(trend * MONTH[t.month - 1] * WEEKDAY[t.weekday()] * HOUR[t.hour])
        self.cumulative = list(accumulate(weights))
        self.total = self.cumulative[-1]

    def daily_intensity(self) -> list[float]:
        """The relative arrival rate of each day of the period (the last day may be part of one).
        Not normalised: a day's value is the same whatever the period's end, to the last bit."""
        days, previous = [], 0.0
        for last_hour in range(23, len(self.cumulative) + 23, 24):
            upto = self.cumulative[min(last_hour, len(self.cumulative) - 1)]
            days.append(upto - previous)
            previous = upto
        return days

    def arrival(self, index: int, count: int, u: float, v: float) -> datetime:
        """The arrival time of the index-th of `count` enquiries (u, v uniform in [0, 1))."""
        target = (index + u) / count * self.total
        hour = min(bisect.bisect_left(self.cumulative, target), len(self.cumulative) - 1)
        return self.start + timedelta(hours=hour, seconds=int(v * 3600))
