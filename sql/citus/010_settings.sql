-- citus 010 settings: what the schema needs from a Citus cluster.
--   * SET LOCAL of the context must reach the shards (set_config(..., true) does not);
--   * the audit and workflow triggers run on the shards.
do $settings$
begin
    execute format('alter database %I set citus.propagate_set_commands = %L', current_database(), 'local');
    execute format('alter database %I set citus.enable_unsafe_triggers = on', current_database());
end
$settings$;
set local citus.propagate_set_commands = 'local';
set local citus.enable_unsafe_triggers = on;
