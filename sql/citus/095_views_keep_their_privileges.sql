-- citus 095 views keep their privileges: when 020 turns core.staff_roles and
-- core.status_transitions into reference tables, Citus re-creates both (new oids afterwards;
-- presumably a conversion from the Citus local tables their foreign keys made them) and every
-- view that reads them, and the re-created view has neither its grants nor its comment. audit.escalation_transitions (sql/014) reads both
-- tables, so on the cluster an auditor was refused it ("permission denied for view",
-- SQLSTATE 42501; enquiries_lab.auditor.escalation_approvals, notebook 03). Its privileges
-- and comment as sql/014 gives them, again. tests/test_citus_reconstruction.py asserts that
-- every view of the lab's schemas has the privileges it has on single-node PostgreSQL.
grant select on audit.escalation_transitions to enquiries_auditor;
comment on view audit.escalation_transitions is
    'Each move into a status that needs approval, with the approved escalation it used (NULLs: none was available).';
