"""Acting as someone: the one place that sets the database role and tenant context.

    with act_as(conn, actor) as cur:
        cur.execute("select count(*) from app.enquiries")

opens a transaction, switches to the actor's database role with SET LOCAL ROLE and sets
the acting user and department with SET LOCAL, so all three end with the transaction
(commit or rollback) and are safe behind a pooler in transaction mode. SET LOCAL rather
than set_config(..., true) because Citus forwards SET LOCAL to the shards
(docs/scale-out.md). Values are validated as UUIDs here and quoted by psycopg.sql.Literal,
so no caller-supplied text reaches the SQL unquoted.

Nothing else in the package touches these settings.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Iterator, Literal

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus

from enquiries_lab.errors import LabError

# Staff roles (core.staff_roles) plus the platform's provisioning role.
DB_ROLES: dict[str, str] = {
    "caseworker": "enquiries_caseworker",
    "supervisor": "enquiries_supervisor",
    "auditor": "enquiries_auditor",
    "retention_officer": "enquiries_retention_officer",
    "provisioner": "enquiries_provisioner",
}

BusinessTime = datetime | Literal["per_row"] | None


def as_uuid(value: object, what: str) -> uuid.UUID:
    """A UUID from a UUID or its text, or a one-line LabError naming `what`."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        shown = str(value)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        raise LabError(f"{what} must be a UUID, got {shown!r}") from None


@dataclass(frozen=True)
class Actor:
    """Someone who acts: a staff member of a department in one role (or the provisioner)."""

    tenant_id: uuid.UUID
    staff_id: uuid.UUID
    role: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "tenant_id", as_uuid(self.tenant_id, "tenant_id"))
        object.__setattr__(self, "staff_id", as_uuid(self.staff_id, "staff_id"))
        if self.role not in DB_ROLES:
            raise LabError(f"unknown role {self.role!r}; expected one of {', '.join(DB_ROLES)}")

    @property
    def db_role(self) -> str:
        return DB_ROLES[self.role]


def context_statements(actor: Actor, business_time: BusinessTime = None) -> list[sql.Composed]:
    """The statements that put a transaction in `actor`'s context, one SET each: Citus
    forwards a SET LOCAL to the workers as the query string it arrived in, so a string of
    three SETs would reach every worker three times (docs/scale-out.md)."""
    parts = [
        sql.SQL("set local role {}").format(sql.Identifier(actor.db_role)),
        sql.SQL("set local enquiries.tenant_id = {}").format(sql.Literal(str(actor.tenant_id))),
        sql.SQL("set local enquiries.actor_id = {}").format(sql.Literal(str(actor.staff_id))),
    ]
    if business_time is not None:
        if business_time != "per_row" and not isinstance(business_time, datetime):
            raise LabError(f"business_time must be a datetime or 'per_row', got {business_time!r}")
        if isinstance(business_time, datetime) and business_time.tzinfo is None:
            raise LabError("business_time must be timezone-aware")
        value = business_time if business_time == "per_row" else business_time.isoformat()
        parts.append(sql.SQL("set local enquiries.business_time = {}").format(sql.Literal(value)))
        # No login is declared: on a Citus shard the login is asked of the backend the
        # statement began in (sql/citus/092), on one node it is session_user.
    return parts


def context_statement(actor: Actor, business_time: BusinessTime = None) -> sql.Composed:
    """The same statements as one string (for callers that send it as one simple query, such
    as tests that set a context on a raw connection; `act_as` sends them one at a time)."""
    return sql.SQL("; ").join(context_statements(actor, business_time))


@contextmanager
def act_as(conn: psycopg.Connection, actor: Actor, *, business_time: BusinessTime = None) -> Iterator[psycopg.Cursor]:
    """A cursor in a new transaction acting as `actor`; commits on success, rolls back on error.

    The connection must not be inside a transaction already: SET LOCAL inside a savepoint
    would outlive it, leaking the context into the caller's transaction.
    """
    if conn.info.transaction_status != TransactionStatus.IDLE:
        raise LabError("act_as needs a connection that is not inside a transaction")
    statements = context_statements(actor, business_time)
    with conn.transaction():
        with conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
            yield cur
