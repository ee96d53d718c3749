-- id: scale_out_profile_in_effect
-- title: Scale-out: where the citus extension is installed, the Citus profile is in effect
-- requirement: On a Citus cluster every tenant table and audit.entries is distributed by tenant_id and
--   colocated with tenant.departments, and every core table is a reference table (docs/scale-out.md):
--   otherwise isolation, keys and joins would not stay inside one department's shard.
-- severity: high
select g.object, null::uuid as tenant_id, jsonb_build_object('problem', g.problem) as detail
from core.citus_profile_gaps() g
where g.problem is not null
