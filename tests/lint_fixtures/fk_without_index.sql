-- expect: fk-without-index line 5
-- A correct composite foreign key between tenant tables, but nothing indexes it.
alter table tenant.notes
    add column escalation_id uuid,
    add constraint notes_escalation_fkey foreign key (tenant_id, escalation_id)
        references tenant.escalations (tenant_id, escalation_id) on delete restrict;
