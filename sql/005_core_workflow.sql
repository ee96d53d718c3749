-- 005 core workflow: the enquiry state machine, as data.
--
-- Guarantees:
--   * a status change is legal only if a row here allows (from_status -> to_status) for
--     the acting staff role; the enquiry trigger (010) reads this table, and so does the
--     generator, so the rules live in one place;
--   * a transition with requires_approval needs a supervisor's approved escalation that
--     has not been used by an earlier transition;
--   * no transition leads into the initial status (enquiries start there and never return).

set local role enquiries_owner;

create table core.status_transitions (
    from_status        text not null references core.statuses (status) on delete restrict,
    to_status          text not null references core.statuses (status) on delete restrict,
    staff_role         text not null references core.staff_roles (staff_role) on delete restrict,
    requires_approval  boolean not null default false,
    description        text not null,
    primary key (from_status, to_status, staff_role),
    check (from_status <> to_status)
);

insert into core.status_transitions (from_status, to_status, staff_role, requires_approval, description)
select t.from_status, t.to_status, r.staff_role, t.requires_approval, t.description
from (values
    -- from               to                  who                          approval  why
    ('new',              'assigned',         '{caseworker,supervisor}',   false, 'Taken by a caseworker or assigned by a supervisor'),
    ('new',              'withdrawn',        '{caseworker,supervisor}',   false, 'Citizen withdrew before work started'),
    ('assigned',         'in_progress',      '{caseworker,supervisor}',   false, 'Work started'),
    ('assigned',         'withdrawn',        '{caseworker,supervisor}',   false, 'Citizen withdrew'),
    ('in_progress',      'awaiting_citizen', '{caseworker,supervisor}',   false, 'Information requested from the citizen'),
    ('in_progress',      'escalated',        '{caseworker,supervisor}',   true,  'Escalated once a supervisor approved it'),
    ('in_progress',      'resolved',         '{caseworker,supervisor}',   false, 'Answer given'),
    ('in_progress',      'withdrawn',        '{caseworker,supervisor}',   false, 'Citizen withdrew'),
    ('awaiting_citizen', 'in_progress',      '{caseworker,supervisor}',   false, 'Citizen replied'),
    ('awaiting_citizen', 'withdrawn',        '{caseworker,supervisor}',   false, 'Citizen withdrew or never replied'),
    ('escalated',        'in_progress',      '{supervisor}',              false, 'Returned to the caseworker after escalation'),
    ('escalated',        'resolved',         '{supervisor}',              false, 'Resolved at the escalated level'),
    ('resolved',         'in_progress',      '{caseworker,supervisor}',   false, 'Citizen not satisfied before closure'),
    ('resolved',         'closed',           '{caseworker,supervisor}',   false, 'Closed; starts the retention clock'),
    ('closed',           'reopened',         '{supervisor}',              false, 'A closed case reopened (stops the retention clock)'),
    ('reopened',         'in_progress',      '{caseworker,supervisor}',   false, 'Work resumed on a reopened case')
) as t(from_status, to_status, roles, requires_approval, description)
cross join lateral unnest(t.roles::text[]) as r(staff_role);

-- The initial status is an entry point only.
create function core.refuse_transition_into_initial() returns trigger
    language plpgsql as $$
begin
    if exists (select from core.statuses where status = new.to_status and is_initial) then
        raise exception 'no transition may lead into the initial status %', new.to_status using errcode = 'EL100';
    end if;
    return new;
end
$$;
create trigger transitions_not_into_initial before insert or update on core.status_transitions
    for each row execute function core.refuse_transition_into_initial();

comment on table core.status_transitions is
    'The enquiry workflow: which staff role may move an enquiry from one status to another, and which moves need an approved escalation.';

grant select on core.status_transitions to public;
