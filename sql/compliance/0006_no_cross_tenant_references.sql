-- id: no_cross_tenant_references
-- title: No row or audit entry points at another department's data
-- requirement: Every reference stays inside its department: foreign keys between tenant
--   tables find their row in the same department (composite keys guarantee it while their
--   triggers run), actor stamps (created_by, updated_by, ...) never name another
--   department's staff, and an audit entry's actor, record and row belong to its own
--   department. A NULL referenced tenant means the target exists nowhere (dangling).
-- severity: critical
select format('%s %s', r.table_name, r.record_id) as object, r.tenant_id,
       jsonb_build_object('problem', case when r.referenced_tenant_id is null then 'points at a row that does not exist'
                                          else 'points at another department''s row' end,
                          'column', r.column_name, 'references', r.referenced_table, 'value', r.referenced_id,
                          'referenced_tenant_id', r.referenced_tenant_id) as detail
from audit.cross_tenant_references() r
