"""Tamper evidence: chained seals over the audit trail detect what the triggers cannot stop,
a superuser changing or deleting entries with triggers disabled, and any change to a seal."""

from __future__ import annotations

import threading
import time
import uuid

import psycopg
import pytest
from psycopg import sql
from tampering import world, world_copies  # noqa: F401 (fixtures: world copies made and dropped in the background)
from tampering import bypassing_triggers, run_cli, superuser
from world import as_login

from enquiries_lab import casework, seals
from enquiries_lab.errors import DatabaseError
from enquiries_lab.session import act_as


def add_note(world, body: str = "a note") -> uuid.UUID:
    with world.connect() as conn:
        with act_as(conn, world.a.actor("caseworker")) as cur:
            return casework.add_note(cur, world.a.enquiry_id, body)


def entry_of(dsn: str, record_id: uuid.UUID) -> int:
    with superuser(dsn) as conn:
        return conn.execute("select max(entry_id) from audit.entries where record_id = %s", [record_id]).fetchone()[0]


def sealed(world, **kwargs) -> list[seals.Seal]:
    with superuser(world.dsn) as conn:
        return seals.seal(conn, **kwargs)


def verify(world, **kwargs) -> seals.VerifyReport:
    with superuser(world.dsn) as conn:
        return seals.verify(conn, **kwargs)


@pytest.mark.req("REQ-CMP-2")
def test_sealing_covers_every_entry_in_a_chain_that_verifies(world):
    made = sealed(world, max_entries=10)
    with superuser(world.dsn) as conn:
        entries, first, last = conn.execute("select count(*), min(entry_id), max(entry_id) from audit.entries").fetchone()
    assert sum(s.entry_count for s in made) == entries
    assert made[0].first_entry_id == 1 and made[-1].last_entry_id >= last
    assert all(b.first_entry_id == a.last_entry_id + 1 for a, b in zip(made, made[1:]))   # contiguous
    assert all(s.entry_count <= 10 for s in made) and len(made) >= -(-entries // 10)
    report = verify(world)
    assert report.problems == [] and not report.tampered and report.sealed_entries == entries
    assert sealed(world) == []   # nothing left to seal


@pytest.mark.req("REQ-CMP-2")
def test_entries_after_the_last_seal_are_reported_as_unsealed_not_as_tampering(world):
    sealed(world)
    note = add_note(world)
    report = verify(world)
    assert not report.tampered
    [unsealed] = report.unsealed
    assert unsealed.entry_id == entry_of(world.dsn, note) and unsealed.detail.startswith("1 entries")


def test_entries_changed_or_deleted_by_a_superuser_with_triggers_disabled_are_named(world):
    made = sealed(world, max_entries=10)
    assert len(made) >= 4
    with superuser(world.dsn) as conn:
        # one victim in each of four different seals
        victims = [conn.execute("select min(entry_id) from audit.entries where entry_id between %s and %s",
                                [s.first_entry_id, s.last_entry_id]).fetchone()[0] for s in made[:4]]
    changed_data, changed_actor, moved, deleted = victims
    with bypassing_triggers(world.dsn) as conn:
        conn.execute("update audit.entries set row_data = row_data || '{\"status\": \"closed\"}' where entry_id = %s",
                     [changed_data])
        conn.execute("update audit.entries set actor_id = gen_random_uuid() where entry_id = %s", [changed_actor])
        conn.execute("update audit.entries set occurred_at = occurred_at - interval '1 month' where entry_id = %s", [moved])
        conn.execute("delete from audit.entries where entry_id = %s", [deleted])
    report = verify(world)
    assert sorted((p.problem, p.entry_id, p.seal_id) for p in report.tampering) == sorted([
        ("entry_changed", changed_data, made[0].seal_id), ("entry_changed", changed_actor, made[1].seal_id),
        ("entry_changed", moved, made[2].seal_id), ("entry_missing", deleted, made[3].seal_id)])
    assert report.tampered and report.unsealed == []


def test_an_entry_slipped_into_a_sealed_range_is_named(world):
    """Ids of rolled-back transactions are recorded as missing, so an entry forged into such a
    gap later is told apart from one that was always there."""
    with world.connect() as conn:
        with pytest.raises(RuntimeError):
            with act_as(conn, world.a.actor("caseworker")) as cur:
                casework.add_note(cur, world.a.enquiry_id, "rolled back")
                raise RuntimeError("roll back")
    note = add_note(world)    # committed after the gap, so the gap lies inside the sealed range
    sealed(world)
    with superuser(world.dsn) as conn:
        gap = conn.execute("select max(entry_id) from audit.entries where entry_id < %s", [entry_of(world.dsn, note)]).fetchone()[0] + 1
        assert conn.execute("select count(*) from audit.entries where entry_id = %s", [gap]).fetchone()[0] == 0
        conn.execute("""insert into audit.entries overriding system value
                        select %s, tenant_id, occurred_at, recorded_at, backdated, actor_id, db_role, login_role,
                               transaction_id, table_name, record_id, action, changed_columns, row_data, old_values
                        from audit.entries where entry_id = %s""", [gap, entry_of(world.dsn, note)])
    report = verify(world)
    assert [(p.problem, p.entry_id) for p in report.tampering] == [("entry_added", gap)]


def test_a_changed_seal_is_named_and_nothing_else_is_blamed(world):
    changes = [("sealed_by", "'someone else'"), ("sealed_at", "sealed_at + interval '1 second'"),
               ("missing_entry_ids", "'{[1,2)}'"), ("entries_hash", "sha256('forged')"),
               ("entry_digests", "set_byte(entry_digests, 0, 255 - get_byte(entry_digests, 0))")]
    made = sealed(world, max_entries=5)
    assert len(made) > len(changes)
    with bypassing_triggers(world.dsn) as conn:
        for seal, (column, value) in zip(made[1:], changes):
            conn.execute(sql.SQL("update audit.seals set {} = {} where seal_id = %s").format(
                sql.Identifier(column), sql.SQL(value)), [seal.seal_id])
    problems = {(p.problem, p.seal_id) for p in verify(world).tampering}
    assert problems == {("seal_changed", seal.seal_id) for seal in made[1:len(changes) + 1]}


def test_a_seal_whose_hash_is_replaced_breaks_the_chain_after_it(world):
    made = sealed(world, max_entries=10)
    with bypassing_triggers(world.dsn) as conn:
        conn.execute("update audit.seals set seal_hash = sha256('forged') where seal_id = %s", [made[0].seal_id])
    assert [(p.problem, p.seal_id) for p in verify(world).tampering] == [
        ("seal_changed", made[0].seal_id), ("chain_broken", made[1].seal_id)]


def test_a_removed_seal_breaks_the_chain(world):
    made = sealed(world, max_entries=10)
    with bypassing_triggers(world.dsn) as conn:
        conn.execute("delete from audit.seals where seal_id = %s", [made[1].seal_id])
    problems = [(p.problem, p.seal_id) for p in verify(world).tampering]
    assert ("chain_broken", made[2].seal_id) in problems and {p for p, _ in problems} == {"chain_broken"}


def test_removing_the_newest_seals_is_caught_only_by_the_anchor(world):
    made = sealed(world, max_entries=10)
    anchor = made[-1].anchor
    with bypassing_triggers(world.dsn) as conn:
        conn.execute("delete from audit.seals where seal_id >= %s", [made[1].seal_id])
    report = verify(world)
    assert report.tampering == [] and report.unsealed != []   # the entries merely look unsealed
    report = verify(world, anchors=[anchor])
    assert [(p.problem, p.seal_id) for p in report.tampering] == [("anchor_mismatch", made[-1].seal_id)]


def test_an_entry_rewritten_with_every_later_seal_recomputed_is_caught_only_by_the_anchor(world):
    made = sealed(world, max_entries=10)
    anchor = made[-1].anchor
    victim = entry_of(world.dsn, world.a.enquiry_id)
    first_affected = next(s.seal_id for s in made if s.first_entry_id <= victim <= s.last_entry_id)
    with bypassing_triggers(world.dsn) as conn:
        conn.execute("update audit.entries set actor_id = gen_random_uuid() where entry_id = %s", [victim])
        conn.execute("delete from audit.seals where seal_id >= %s", [first_affected])
    sealed(world, max_entries=10)   # the attacker re-seals: the chain is consistent again
    assert verify(world).tampering == []
    assert [p.problem for p in verify(world, anchors=[anchor]).tampering] == ["anchor_mismatch"]


OWNER_REFUSALS = [
    ("update audit.seals set sealed_by = 'x'", "42501"),   # no privilege (and the triggers behind it)
    ("delete from audit.seals", "42501"),
    ("truncate audit.seals", "42501"),
    ("alter table audit.seals disable trigger seals_immutable", "EL202"),
    ("drop trigger seals_immutable on audit.seals", "EL202"),
    ("select * from audit.seal()", "EL500"),     # it would see only what RLS lets the owner see
    ("select * from audit.verify()", "EL500"),
]


def test_seals_are_immutable_and_sealing_is_for_superusers_only(world):
    sealed(world)
    for statement in ("update audit.seals set sealed_by = 'x'", "delete from audit.seals", "truncate audit.seals"):
        with superuser(world.dsn) as conn:
            with pytest.raises(psycopg.Error) as err:
                conn.execute(statement)
        assert err.value.sqlstate == "EL201", statement

    owner = f"enqlab_test_owner_{uuid.uuid4().hex[:8]}"
    with superuser(world.dsn) as conn:
        conn.execute(sql.SQL("create role {} login inherit in role enquiries_owner").format(sql.Identifier(owner)))
        conn.execute(sql.SQL("grant connect on database {} to {}").format(sql.Identifier(conn.info.dbname), sql.Identifier(owner)))
    try:
        for statement, sqlstate in OWNER_REFUSALS:
            with psycopg.connect(as_login(world.dsn, owner), autocommit=True) as conn:
                with pytest.raises(psycopg.Error) as err:
                    conn.execute(statement)
            assert err.value.sqlstate == sqlstate, (statement, err.value)
    finally:
        with superuser(world.dsn) as conn:
            conn.execute(sql.SQL("drop owned by {}").format(sql.Identifier(owner)))
            conn.execute(sql.SQL("drop role {}").format(sql.Identifier(owner)))

    for role in ("caseworker", "supervisor", "auditor", "retention_officer"):
        for statement in ("select count(*) from audit.seals", "select * from audit.seal()", "select * from audit.verify()"):
            with world.connect() as conn:
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    with act_as(conn, world.a.actor(role)) as cur:
                        cur.execute(statement)
    assert not verify(world).tampered


def test_a_seal_waits_for_writers_that_were_running_and_covers_their_entries(world):
    """A transaction that took an entry id before sealing started and commits during it must
    end up inside the seal, never appear later inside a sealed range."""
    writer = world.connect()
    writer.autocommit = False
    with writer.cursor() as cur:
        cur.execute(casework_context(world))
        note = casework.add_note(cur, world.a.enquiry_id, "slow writer")
    result: dict = {}

    def run_seal():
        result["seals"] = sealed(world, wait_s=10)

    thread = threading.Thread(target=run_seal)
    thread.start()
    time.sleep(0.5)
    assert thread.is_alive(), "the seal must wait for the open writer"
    writer.commit()
    writer.close()
    thread.join(10)
    entry = entry_of(world.dsn, note)
    assert result["seals"] and result["seals"][-1].last_entry_id >= entry
    assert not verify(world).tampered and verify(world).unsealed == []


def test_a_seal_gives_up_with_el501_when_a_writer_stays_open(world):
    writer = world.connect()
    writer.autocommit = False
    with writer.cursor() as cur:
        cur.execute(casework_context(world))
        casework.add_note(cur, world.a.enquiry_id, "never committed in time")
    try:
        with pytest.raises(DatabaseError) as err:
            sealed(world, wait_s=0.3)
        assert err.value.sqlstate == "EL501"
    finally:
        writer.rollback()
        writer.close()


def casework_context(world):
    from enquiries_lab.session import context_statement

    return context_statement(world.a.actor("caseworker"))


def test_cli_seal_prints_the_head_and_verify_exits_1_naming_the_tampered_entry(world):
    proc = run_cli("audit", "seal", "--dsn", world.dsn, "--max-entries", "25")
    assert proc.returncode == 0, proc.stderr
    head = next(line.split()[1] for line in proc.stdout.splitlines() if line.startswith("head: "))
    seals.parse_anchor(head)
    ok = run_cli("audit", "verify", "--dsn", world.dsn, "--anchor", head)
    assert ok.returncode == 0 and "intact" in ok.stdout, ok.stdout + ok.stderr

    victim = entry_of(world.dsn, world.b.enquiry_id)
    with bypassing_triggers(world.dsn) as conn:
        conn.execute("update audit.entries set row_data = '{}' where entry_id = %s", [victim])
    bad = run_cli("audit", "verify", "--dsn", world.dsn)
    assert bad.returncode == 1
    assert bad.stdout.splitlines()[0].startswith(f"entry_changed: entry {victim}, seal ")
    assert "TAMPERED: 1 problem(s)" in bad.stdout


def test_cli_verify_refuses_a_malformed_anchor_as_a_one_line_error():
    proc = run_cli("audit", "verify", "--dsn", "postgresql://nobody@127.0.0.1:1/none", "--anchor", "not-an-anchor")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "SEAL_ID:SHA256_HEX" in proc.stderr


BLOCK = 1 << 48   # entry ids per id block (074): Citus gives node group g the ids from g * 2^48 + 1


def test_entries_from_two_id_blocks_are_sealed_per_block_in_one_chain_that_verifies(world):
    """As on a cluster, where each node issues ids from its own block: the seals never span a
    block, each block's seals start at its first id, and one chain (one anchor) covers both."""
    sealed(world)
    in_block_0 = entry_of(world.dsn, add_note(world, "written in block 0"))
    with superuser(world.dsn) as conn:   # the sequence moves on to block 1, as a worker's would start there
        conn.execute("select setval('audit.entries_entry_id_seq', %s)", [BLOCK])
    in_block_1 = entry_of(world.dsn, add_note(world, "written in block 1"))
    assert in_block_0 < BLOCK < in_block_1 <= BLOCK + 10
    unsealed = verify(world).unsealed
    assert [p.entry_id for p in unsealed] == [in_block_0, in_block_1]   # one line per block
    made = sealed(world)
    assert [(s.first_entry_id <= in_block_0 <= s.last_entry_id, s.first_entry_id == BLOCK + 1) for s in made] == \
           [(True, False), (False, True)]
    assert all((s.first_entry_id - 1) // BLOCK == (s.last_entry_id - 1) // BLOCK for s in made)
    report = verify(world, anchors=[made[-1].anchor])
    assert report.problems == [] and report.unsealed == []
    with bypassing_triggers(world.dsn) as conn:
        conn.execute("update audit.entries set row_data = row_data || '{\"body\": \"rewritten\"}' where entry_id = %s",
                     [in_block_1])
    assert [(p.problem, p.entry_id) for p in verify(world).tampering] == [("entry_changed", in_block_1)]


def test_a_seal_spanning_two_id_blocks_is_refused(world):
    made = sealed(world)
    with superuser(world.dsn) as conn, pytest.raises(psycopg.errors.CheckViolation, match="seals_within_one_block"):
        conn.execute("""insert into audit.seals
                        select seal_id + 1, first_entry_id, %s, entry_count, missing_entry_ids, entry_digests,
                               entries_hash, prev_hash, seal_hash, sealed_at, sealed_by
                        from audit.seals where seal_id = %s""", [BLOCK + 1, made[-1].seal_id])
