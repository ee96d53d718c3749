-- 029 enquiry status kept by the workflow: tenant.enquiries.status is checked by the workflow
-- trigger alone, and a workflow status can no longer be deleted or renamed.
--
-- The foreign key enquiries.status -> core.statuses said nothing the workflow trigger (013)
-- does not already enforce more strictly on every write: a new enquiry must be in the initial
-- status, and a change must match a core.status_transitions row, whose statuses are foreign
-- keys into core.statuses. The key's check cost a query and a KEY SHARE row lock on a
-- core.statuses row for every status change (~3.5% of the generator's server instructions,
-- docs/benchmarks.md), and every concurrent writer locked the same dozen rows, which turns
-- their locks into shared multixacts.
--
-- The one thing the key did besides: it stopped a status that enquiries hold from being
-- deleted or renamed. Statuses are named in every enquiry's audit history, so now none is
-- deleted or renamed at all, in use or not (a status is retired by removing its transitions):
-- EL207, for everyone, the owner and superusers included.
--
-- Guarantees: every enquiry's status is a row of core.statuses
-- (tests/test_workflow.py::test_a_workflow_status_is_never_deleted_or_renamed,
-- ::test_every_illegal_transition_is_refused, ::test_new_enquiry_must_start_in_the_initial_status).

set local role enquiries_owner;

alter table tenant.enquiries drop constraint enquiries_status_fkey;

create function core.refuse_status_removal() returns trigger
    language plpgsql as $$
begin
    raise exception '% on core.statuses is not allowed: statuses are named in enquiries and their audit history; '
                    'retire one by removing its transitions', tg_op
        using errcode = 'EL207';
end
$$;

create trigger statuses_never_removed before delete or update of status on core.statuses
    for each row execute function core.refuse_status_removal();
create trigger statuses_never_truncated before truncate on core.statuses
    for each statement execute function core.refuse_status_removal();
