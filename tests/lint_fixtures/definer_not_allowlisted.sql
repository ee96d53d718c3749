-- expect: definer-not-allowlisted line 8
-- Safe on its own (search_path pinned, PUBLIC revoked); the grant makes it callable by an
-- application role with its owner's rights, and it is not on the allow-list.
create function tenant.count_all_notes() returns bigint
    language sql security definer set search_path = pg_catalog, pg_temp
    as $$ select count(*) from tenant.notes $$;
revoke all on function tenant.count_all_notes() from public;
grant execute on function tenant.count_all_notes() to enquiries_caseworker;
