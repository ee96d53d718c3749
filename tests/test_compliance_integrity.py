"""The integrity checks of issue 19: each rule broken on purpose by a superuser outside the
application's rules, `check` failing naming exactly that check and the offending rows, and
schema drift (a tenant table without tenant_id, a correctly dropped column) reported as
findings by the right checks, never as a check that could not run."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from psycopg import sql
from tampering import world, world_copies  # noqa: F401 (fixtures)
from tampering import bypassing_triggers, superuser
from test_compliance import failing, objects, problems

from enquiries_lab import seals


def entries_of(dsn: str, record_id: uuid.UUID) -> list[tuple[int, str, uuid.UUID]]:
    with superuser(dsn) as conn:
        return conn.execute("select entry_id, action, actor_id from audit.entries where record_id = %s "
                            "order by occurred_at, entry_id", [record_id]).fetchall()


# -- the trail consistent in itself, sealed or not -----------------------------------------------

@pytest.mark.req("REQ-CMP-1")
def test_rewritten_before_values_and_actor_ids_in_an_unsealed_trail_fail_audit_trail_consistent(world):
    trail = entries_of(world.dsn, world.a.enquiry_id)
    (first_update, _, _), (second_update, _, second_actor) = [e for e in trail if e[1] != "insert"][:2]
    with superuser(world.dsn) as conn:
        other = conn.execute("select staff_id from tenant.staff where tenant_id = %s and staff_id <> %s limit 1",
                             [world.a.tenant_id, second_actor]).fetchone()[0]
    with bypassing_triggers(world.dsn) as conn:   # a superuser behind the application's back
        rebuilt = conn.execute("select before_state -> 'updated_at' from audit.entry_states where entry_id = %s",
                               [first_update]).fetchone()[0]
        conn.execute("""update audit.entries set old_values = jsonb_set(old_values, '{updated_at}', '"2020-01-01T00:00:00+00:00"')
                        where entry_id = %s""", [first_update])
        conn.execute("update audit.entries set actor_id = %s where entry_id = %s", [other, second_update])
    with superuser(world.dsn) as conn:   # the gap: the seals cannot see an unsealed trail's edits
        assert not seals.verify(conn).tampered
    found = failing(world.dsn)
    assert set(found) == {"audit_trail_consistent"}
    assert problems(found["audit_trail_consistent"]) == {
        (f"audit.entries {first_update}", "the entry's before-values are not the state the earlier entries rebuild"),
        (f"audit.entries {second_update}", "the entry's actor is not the row's updated_by"),
    }
    before = next(v for v in found["audit_trail_consistent"] if v.object == f"audit.entries {first_update}")
    assert before.tenant_id == world.a.tenant_id and before.detail["columns"] == ["updated_at"]
    assert before.detail["recorded"] == {"updated_at": "2020-01-01T00:00:00+00:00"}
    assert before.detail["rebuilt"] == {"updated_at": rebuilt}


def test_an_insert_entry_naming_someone_else_fails_audit_trail_consistent(world):
    [(insert, _, actor)] = [e for e in entries_of(world.dsn, world.b.contact_id) if e[1] == "insert"]
    with superuser(world.dsn) as conn:
        other = conn.execute("select staff_id from tenant.staff where tenant_id = %s and staff_id <> %s limit 1",
                             [world.b.tenant_id, actor]).fetchone()[0]
    with bypassing_triggers(world.dsn) as conn:
        conn.execute("update audit.entries set actor_id = %s where entry_id = %s", [other, insert])
    found = failing(world.dsn)
    assert set(found) == {"audit_trail_consistent"}
    assert problems(found["audit_trail_consistent"]) == {
        (f"audit.entries {insert}", "the entry's actor is not the row's created_by")}


# -- grants, views, definer functions, roles ------------------------------------------------------

def test_grants_beyond_or_short_of_the_access_model_fail_grants_match_access_model(world):
    with superuser(world.dsn) as conn:
        conn.execute("grant select on tenant.contacts to enquiries_provisioner")     # not in the model
        conn.execute("revoke select on tenant.teams from enquiries_auditor")          # in the model, not held
        conn.execute("grant update (full_name) on tenant.contacts to enquiries_auditor")  # column-level
        conn.execute("grant delete on tenant.notes to enquiries_caseworker")
        conn.execute("grant truncate on tenant.enquiries to public")
    found = failing(world.dsn)
    assert set(found) == {"grants_match_access_model"}
    assert {(v.object, v.problem, v.detail["grantee"], v.detail["privilege"]) for v in found["grants_match_access_model"]} == {
        ("tenant.contacts", "a role holds a privilege the access model does not grant", "enquiries_provisioner", "SELECT"),
        ("tenant.teams", "the access model grants a privilege the role does not hold", "enquiries_auditor", "SELECT"),
        ("tenant.contacts.full_name", "a role holds a column-level privilege, which the access model never grants",
         "enquiries_auditor", "UPDATE"),
        ("tenant.notes", "a role other than the owner holds DELETE: records are never physically removed",
         "enquiries_caseworker", "DELETE"),
        ("tenant.enquiries", "a role other than the owner holds TRUNCATE: records are never physically removed",
         "PUBLIC", "TRUNCATE"),
    }


def test_owner_rights_views_over_tenant_data_in_any_schema_fail_views_over_tenant_data_security_invoker(world):
    with superuser(world.dsn) as conn:
        conn.execute("create schema reports")
        conn.execute("create view reports.caseload as select count(*) as open from app.enquiries")  # through a view
        conn.execute("create view reports.fine with (security_invoker = true) as select * from app.enquiries")
        conn.execute("create view public.contacts_copy as select * from tenant.contacts")
        conn.execute("create materialized view public.notes_snapshot as select * from tenant.notes")
        conn.execute("create view public.no_tenant_data as select * from core.statuses")
    found = failing(world.dsn)
    assert set(found) == {"views_over_tenant_data_security_invoker"}
    assert problems(found["views_over_tenant_data_security_invoker"]) == {
        ("reports.caseload", "the view is not security_invoker: it reads tenant data with its owner's rights"),
        ("public.contacts_copy", "the view is not security_invoker: it reads tenant data with its owner's rights"),
        ("public.notes_snapshot", "a materialized view copies tenant data without row level security"),
    }


def test_definer_functions_off_the_list_or_unpinned_fail_security_definer_functions_allowed(world):
    with superuser(world.dsn) as conn:
        conn.execute("create function public.helper() returns int language sql security definer as 'select 1'")
        conn.execute("alter function audit.capture_notes() reset search_path")
        conn.execute("alter function audit.capture_teams() set search_path = public, pg_temp")
        conn.execute("grant execute on function audit.capture_contacts() to enquiries_caseworker")
    found = failing(world.dsn)
    assert set(found) == {"security_definer_functions_allowed"}
    assert problems(found["security_definer_functions_allowed"]) == {
        ("public.helper()", "the function is SECURITY DEFINER but not on the allow-list"),
        ("public.helper()", "the function is not owned by enquiries_audit_writer"),
        ("public.helper()", "the function does not pin its search_path"),
        ("public.helper()", "a role other than the owner may execute a SECURITY DEFINER function"),
        ("audit.capture_notes()", "the function does not pin its search_path"),
        ("audit.capture_teams()", "the pinned search_path does not end with pg_temp or names public or $user"),
        ("audit.capture_contacts()", "a role other than the owner may execute a SECURITY DEFINER function"),
    }


def test_a_superuser_or_bypassrls_lab_role_fails_no_privileged_lab_roles(world):
    suffix = uuid.uuid4().hex[:8]
    su_role, member, bypass = f"enquiries_t{suffix}_su", f"enquiries_t{suffix}_member", f"t{suffix}_bypass"
    with superuser(world.dsn) as conn:
        try:
            conn.execute(sql.SQL("create role {} superuser nologin").format(sql.Identifier(su_role)))
            conn.execute(sql.SQL("create role {} bypassrls nologin").format(sql.Identifier(bypass)))
            conn.execute(sql.SQL("create role {} nologin in role {}").format(sql.Identifier(member), sql.Identifier(bypass)))
            found = failing(world.dsn)
        finally:
            for role in (member, su_role, bypass):
                conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(role)))
    assert set(found) == {"no_privileged_lab_roles"}
    assert problems(found["no_privileged_lab_roles"]) == {
        (f"role {su_role}", "the lab role is a superuser"),
        (f"role {member}", "the lab role is a member of a BYPASSRLS role"),
    }
    assert failing(world.dsn) == {}


# -- keys, and schema drift ------------------------------------------------------------------------

def test_a_tenant_table_cut_off_from_the_departments_fails_tenant_tables_keyed(world):
    with superuser(world.dsn) as conn:   # contacts alone first: enquiries still reach it through their type
        conn.execute("alter table tenant.contacts drop constraint contacts_tenant_id_fkey")
        assert problems(failing(world.dsn)["tenant_tables_keyed"]) == {
            ("tenant.contacts", "no foreign key on tenant_id reaches tenant.departments")}
        # then the enquiry types, the other key the enquiries' chain (028) reaches the departments by
        conn.execute("alter table tenant.department_enquiry_types drop constraint department_enquiry_types_tenant_id_fkey")
    found = failing(world.dsn)
    assert set(found) == {"tenant_tables_keyed"}
    assert problems(found["tenant_tables_keyed"]) == {
        (f"tenant.{t}", "no foreign key on tenant_id reaches tenant.departments")
        for t in ("contacts", "department_enquiry_types", "enquiries", "notes")}
    # assignments, escalations and legal holds still reach the departments through their staff keys


def test_a_new_tenant_table_without_keys_is_reported_and_breaks_no_other_check(world):
    with superuser(world.dsn) as conn:
        conn.execute("create table tenant.widgets (widget_id uuid, tenant_id uuid, name text)")
    found = failing(world.dsn)   # asserts that no check errors
    assert problems(found["tenant_tables_keyed"]) == {
        ("tenant.widgets", "the tenant table has no primary key"),
        ("tenant.widgets", "no index on the tenant table leads with tenant_id"),
        ("tenant.widgets", "no foreign key on tenant_id reaches tenant.departments"),
    }
    assert {"rls_enabled_and_forced", "audit_capture_triggers", "scale_out_distribution_column"} <= set(found)
    assert "audit_trail_complete" not in found and "no_physical_deletes" not in found


@pytest.mark.req("REQ-CMP-1")
def test_a_tenant_table_without_tenant_id_is_reported_by_the_right_checks_and_none_errors(world):
    """Today three critical checks stopped with 42703 here (audit_trail_complete, no_physical_deletes,
    no_cross_tenant_references), and retention_respected names the column in plain SQL."""
    with superuser(world.dsn) as conn:
        conn.execute("alter table tenant.notes drop column tenant_id cascade")
    found = failing(world.dsn)   # asserts that no check errors
    assert set(found) == {"rls_enabled_and_forced", "audit_capture_triggers", "views_hide_soft_deleted_rows",
                          "scale_out_distribution_column", "tenant_tables_keyed", "retention_respected",
                          "disposed_records_anonymised_and_frozen"}
    assert ("tenant.notes", "no restrictive policy for all commands compares tenant_id with the tenant context") in \
        problems(found["rls_enabled_and_forced"])
    assert ("tenant.notes", "the tenant table has no tenant_id column") in problems(found["tenant_tables_keyed"])
    [drift] = found["retention_respected"]
    assert drift.object == "schema" and drift.detail["sqlstate"] == "42703" and "tenant_id" in drift.detail["missing"]
    assert {p for _, p in problems(found["audit_capture_triggers"])} == {
        f"the audit trigger for {e} runs a generated capture out of date with the table's columns "
        "(audit.install_capture regenerates it)" for e in ("insert", "update")}


def test_a_correctly_dropped_column_fails_no_check(world):
    """Before 050, audit_trail_complete failed every contact here, showing identical live and
    replayed values (the dropped column's old values are still in the trail)."""
    with superuser(world.dsn) as conn:
        conn.execute("drop view app.contacts")
        conn.execute("alter table tenant.contacts drop column phone")
        conn.execute("select audit.install_capture('tenant.contacts')")
        conn.execute("create view app.contacts with (security_invoker = true) as "
                     "select * from tenant.contacts where deleted_at is null")
        assert conn.execute("select count(*) from audit.entries where table_name = 'tenant.contacts' "
                            "and row_data ? 'phone'").fetchone()[0] > 0
    assert failing(world.dsn) == {}


# -- the reason given is the real one ------------------------------------------------------------

def test_a_per_row_tenant_policy_is_named_as_such_not_as_missing_the_tenant(world):
    with superuser(world.dsn) as conn:
        conn.execute("create policy per_row on tenant.contacts for select to enquiries_auditor "
                     "using (tenant_id = tenant.current_tenant_id())")
        conn.execute("create policy names_only on tenant.notes for select to enquiries_auditor "
                     "using (tenant.current_tenant_id() is not null)")
    found = failing(world.dsn)
    assert set(found) == {"rls_enabled_and_forced", "scale_out_policies"}
    assert problems(found["rls_enabled_and_forced"]) == {   # the per-row policy isolates: not a finding here
        ("tenant.notes", "a permissive policy names the tenant context but does not compare tenant_id with it")}
    reasons = {v.object: v.problem for v in found["scale_out_policies"]}
    assert reasons["tenant.contacts"].startswith("permissive policy per_row checks the tenant per row")
    assert reasons["tenant.notes"].startswith("permissive policy names_only names the tenant context but does not compare")
