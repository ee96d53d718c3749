"""Citizens, staff and correspondence that read like the real thing.

Faker (en_GB) is slow per call and one shared stream shifts everything after any extra
call, so it is used once per run to fill seeded pools of names, addresses, postcodes and
phone numbers; each enquiry then draws from the pools with its own Random.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from datetime import datetime

from faker import Faker

from enquiries_lab.generator import profiles

POOL = 1500


@dataclass(frozen=True)
class Pools:
    first_names: list[str]
    last_names: list[str]
    streets: list[str]
    towns: list[str]
    postcodes: list[str]
    phones: list[str]

    @classmethod
    def build(cls, seed: int) -> "Pools":
        fake = Faker("en_GB", use_weighting=False)
        fake.seed_instance(seed)
        return cls(
            first_names=[fake.first_name() for _ in range(POOL)],
            last_names=[fake.last_name() for _ in range(POOL)],
            streets=[fake.street_address().replace("\n", ", ") for _ in range(POOL)],
            towns=[fake.city() for _ in range(POOL)],
            postcodes=[fake.postcode() for _ in range(POOL)],
            phones=[fake.phone_number() for _ in range(POOL)],
        )


EMAIL_DOMAINS = ["gmail.com", "outlook.com", "hotmail.co.uk", "yahoo.co.uk", "btinternet.com", "icloud.com", "sky.com"]


def person(rng: random.Random, pools: Pools) -> tuple[str, str]:
    return rng.choice(pools.first_names), rng.choice(pools.last_names)


def contact(rng: random.Random, pools: Pools) -> dict:
    first, last = person(rng, pools)
    return {
        "full_name": f"{first} {last}",
        "email": f"{first}.{last}{rng.randint(1, 99)}@{rng.choice(EMAIL_DOMAINS)}".lower().replace(" ", "").replace("'", ""),
        "phone": rng.choice(pools.phones),
        "address_line1": rng.choice(pools.streets),
        "town": rng.choice(pools.towns),
        "postcode": rng.choice(pools.postcodes),
    }


@functools.lru_cache(maxsize=512)
def _first_of_month(year: int, month: int) -> str:
    return datetime(year, month, 1).strftime("%-d %B %Y")


def _fill(rng: random.Random, template: str, pools: Pools, ref: str, at: datetime) -> str:
    return template.format(
        service=rng.choice(profiles.SERVICES), topic=rng.choice(profiles.TOPICS), mp=rng.choice(profiles.MPS),
        town=rng.choice(pools.towns), postcode=rng.choice(pools.postcodes), phone=rng.choice(pools.phones),
        ref=ref, amount=f"£{rng.randint(12, 2400)}.{rng.randint(0, 99):02d}",
        date=_first_of_month(at.year, at.month),   # strftime per sentence was 4% of the client's time
    )


def correspondence(rng: random.Random, pools: Pools, enquiry_type: str, ref: str, at: datetime,
                   signature: str) -> tuple[str, str]:
    subject = _fill(rng, rng.choice(profiles.SUBJECTS[enquiry_type]), pools, ref, at)
    sentences = rng.sample(profiles.SENTENCES[enquiry_type], k=min(len(profiles.SENTENCES[enquiry_type]), rng.randint(2, 4)))
    body = "\n\n".join([
        rng.choice(profiles.OPENINGS),
        " ".join(_fill(rng, s, pools, ref, at) for s in sentences),
        f"{rng.choice(profiles.CLOSINGS)}\n{signature}",
    ])
    return subject, body


def note(seed: int, direction: str) -> str:
    rng = random.Random(seed)
    return rng.choice(profiles.NOTE_TEXTS[direction])
