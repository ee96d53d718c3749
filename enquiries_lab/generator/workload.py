"""How long work waits: each department's queue over the simulated period, as a fluid model.

Little's law: the work open at any moment is the arrival rate times the time an enquiry spends
open. Handling an enquiry takes hours to days, so without queueing the end state holds a few
days of arrivals (17 open enquiries of 5,000 in the demo, before this module). Real
departments are staffed from last year's figures, lose staff for months at a time and meet
seasonal peaks with the same team, so work waits in a queue for weeks.

Per department and day: demand is the arrival calendar's intensity; capacity is what was
planned from the demand of the year ending HIRING_LAG ago, with SLACK above it, times any
staff shortage in force, plus the overtime and temporary staff a backlog brings in (up to
RECOVERY_MAX more, enough to clear it in about RECOVERY_DAYS). The backlog grows by demand
minus what is worked (never below zero), and the wait at the head of the queue is the backlog over capacity plus the steady queue of a busy
team (BASE_WAIT_DAYS). Everything is relative to the department's own demand, so the wait in
days does not depend on the dataset's size: a 5,000- and a 5,000,000-enquiry run meet the same
queues. Each day's wait depends only on the seed, the department and the days before it (never on
where the period ends: a dataset grown to a later end keeps its past), so each enquiry's life still
depends only on its own random stream and the curve (lifecycle.simulate): no enquiry's
changes shift another's, and batches and jobs stay independent.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from itertools import accumulate

from enquiries_lab.generator.calendar import ArrivalCalendar

HIRING_LAG = 180        # days: staffing decided on figures this old (budget round, recruitment, training)
PLANNING_WINDOW = 365   # days of demand the staffing plan averages
SLACK = 1.06            # capacity planned this far above the demand it was planned for
BASE_WAIT_DAYS = 2.0    # the queue a fully staffed, busy team carries anyway
RECOVERY_DAYS = 150     # a backlog is worked down over about this long (overtime, temporary staff) ...
RECOVERY_MAX = 0.2      # ... by at most this much capacity above the plan
SHORTAGE_CHANCE = 0.6   # per department and year: a spell of vacancies, sickness or a recruitment freeze
SHORTAGE_DAYS = (30, 150)
SHORTAGE_CAPACITY = (0.6, 0.85)


class Workload:
    """The queue wait (days) at each day of the period, for one department."""

    @staticmethod
    def demand(start: datetime, end: datetime) -> list[float]:
        """The daily demand every department's curve starts from (the same shape for all: build
        it once per run). At least the first planning window and its lag, so that no day's plan
        depends on the end."""
        horizon = max(end, start + timedelta(days=PLANNING_WINDOW + HIRING_LAG + 1))
        return ArrivalCalendar(start, horizon).daily_intensity()

    def __init__(self, seed: int, code: str, start: datetime, demand: list[float]):
        self.start = start
        days = len(demand)
        total = [0.0, *accumulate(demand)]   # total[d]: the demand of days before d
        capacity = [SLACK * self._planned(total, d) for d in range(days)]
        rng = random.Random(f"{seed}:{code}:workload")
        for year_start in range(0, days, 365):
            if rng.random() < SHORTAGE_CHANCE:
                first = year_start + rng.randrange(365)
                length = rng.randint(*SHORTAGE_DAYS)
                factor = rng.uniform(*SHORTAGE_CAPACITY)
                for d in range(first, min(first + length, days)):
                    capacity[d] *= factor
        backlog = 0.0
        self.wait: list[float] = []
        for d in range(days):
            worked = capacity[d] + min(RECOVERY_MAX * capacity[d], backlog / RECOVERY_DAYS)
            backlog = max(0.0, backlog + demand[d] - worked)
            self.wait.append(BASE_WAIT_DAYS + backlog / worked)

    @staticmethod
    def _planned(total: list[float], day: int) -> float:
        """The mean daily demand of the planning window that ended HIRING_LAG days before `day`
        (before that window exists: the period's first window, as forecast)."""
        last = min(max(day - HIRING_LAG, PLANNING_WINDOW), len(total) - 1)
        first = max(0, last - PLANNING_WINDOW)
        return (total[last] - total[first]) / (last - first)

    def wait_at(self, at: datetime) -> timedelta:
        day = min(max((at - self.start).days, 0), len(self.wait) - 1)
        return timedelta(days=self.wait[day])
