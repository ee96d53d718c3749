"""Growing a generated dataset: more enquiries, or a later end, without `reset`.

A lab database holds a chain of generation runs (lab_meta.generation_runs): the base run, then
growth runs, each with the parameters the dataset has once it is done. A growth run keeps the
seed, departments, start and skew; it may raise --enquiries, move --end later, or both:

* the departments, teams and staff are the base run's (staffed for its volume and period);
* it adds the difference in enquiries as a stream of its own, spread over departments as a
  fresh run of that many would be, arriving over the whole (new) period, each drawn from its
  own random stream (seed, department, growth number, index) and numbered on from the
  department's last reference;
* with a later end, every enquiry of the earlier streams lives on: its life does not depend
  on the clock (lifecycle.simulate), so the events between the old and the new end are the
  ones that follow where it was, made by the same staff, through the same workflow and audit.

The same commands give the same data: a run's key is its parameters' key chained to the key
of the run before it. A growth run resumes as a base run does.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime

from enquiries_lab.errors import LabError

# Parameters a dataset cannot change once generated (a growth run keeps them).
FIXED = ("seed", "departments", "start", "skew")
# Parameters that may only grow.
GROWING = ("enquiries", "end")


@dataclass(frozen=True)
class Stream:
    """The enquiries one run added: `sizes[d]` for department d, numbered from `offsets[d]`."""

    number: int            # 0: the base run; k: the k-th growth run
    end: datetime          # the end of the run that added them (their arrivals' period)
    sizes: tuple[int, ...]
    offsets: tuple[int, ...]

    def rng_seed(self, seed: int, code: str, index: int) -> str:
        # the base stream keeps the seeds it always had, so a base run's data does not move
        return f"{seed}:{code}:{index}" if self.number == 0 else f"{seed}:{code}:+{self.number}:{index}"


@dataclass(frozen=True)
class Chain:
    """The runs of a dataset, base first; the last is the one being generated."""

    runs: tuple  # tuple[Params, ...]

    @property
    def base(self):
        return self.runs[0]

    @property
    def current(self):
        return self.runs[-1]

    @property
    def previous_end(self) -> datetime | None:
        """Where the dataset's clock stood before this run (None for the base run)."""
        return self.runs[-2].end if len(self.runs) > 1 else None

    def key(self) -> str:
        key = self.base.key()
        for params in self.runs[1:]:
            key = hashlib.sha256(f"{key}:{params.key()}".encode()).hexdigest()[:16]
        return key

    def streams(self, sizes) -> list[Stream]:
        """One stream per run; `sizes(n)` spreads n enquiries over the departments."""
        out: list[Stream] = []
        before = 0
        offsets = [0] * self.base.departments
        for number, params in enumerate(self.runs):
            added = sizes(params.enquiries - before) if params.enquiries > before else [0] * len(offsets)
            out.append(Stream(number, params.end, tuple(added), tuple(offsets)))
            offsets = [o + a for o, a in zip(offsets, added)]
            before = params.enquiries
        return out


def as_stored(params) -> dict[str, str]:
    """The parameters as lab_meta.generation_runs.params records them (every value as text)."""
    from dataclasses import asdict

    return {k: str(v) for k, v in asdict(params).items()}


def differences(stored: dict, params) -> list[str]:
    """'--seed 3 there, 4 here' for every parameter the stored run and `params` differ in (the
    batch size cuts the work differently, never the data)."""
    here = as_stored(params)
    return [f"--{k} {stored.get(k)} there, {v} here" for k, v in here.items()
            if k != "batch_size" and str(stored.get(k)) != v]


def from_stored(stored: dict, params_type):
    """The Params a run recorded (lab_meta.generation_runs.params, every value as text)."""
    return params_type(enquiries=int(stored["enquiries"]), departments=int(stored["departments"]),
                       seed=int(stored["seed"]), start=datetime.fromisoformat(stored["start"]),
                       end=datetime.fromisoformat(stored["end"]), skew=float(stored["skew"]))


def chain_for(recorded: list[tuple[dict, bool]], params) -> Chain:
    """The chain `params` generates, given the runs the database records (params, finished), in
    order: a new base run, the last run again (resumed, or a no-op if finished), or a growth
    run after it. Anything else is refused in one line naming what differs."""
    if not recorded:
        return Chain((params,))
    runs = tuple(replace(from_stored(stored, type(params)), batch_size=params.batch_size) for stored, _ in recorded)
    last_stored, last_finished = recorded[-1]
    diff = differences(last_stored, params)
    if not diff:
        return Chain(runs)
    if not last_finished:
        raise LabError(f"this database holds an interrupted run of other parameters ({'; '.join(diff)}); "
                       "run its command again to finish it first")
    last = runs[-1]
    fixed = [d for d in diff if d.split()[0][2:] in FIXED]
    shrinking = [f"--{k} {getattr(last, k)} there, {getattr(params, k)} here"
                 for k in GROWING if getattr(params, k) < getattr(last, k)]
    if fixed or shrinking:
        why = "; ".join(fixed + shrinking)
        raise LabError(f"this database already holds a dataset these parameters cannot grow ({why}: a dataset "
                       "keeps its seed, departments, start and skew, and gains enquiries or a later end); "
                       "run `enquiries-lab reset` first or use another database")
    return Chain(runs + (params,))
