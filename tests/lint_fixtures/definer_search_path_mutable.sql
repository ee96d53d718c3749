-- expect: definer-search-path-mutable line 4
-- A definer function that resolves names through the caller's search_path. Only its owner
-- may run it, so nothing else is wrong with it.
create function tenant.count_notes() returns bigint
    language sql security definer
    as $$ select count(*) from tenant.notes $$;
revoke all on function tenant.count_notes() from public;
