-- expect: unique-without-tenant line 4
-- Team names unique across all departments: a department learns another's team names.
alter table tenant.teams
    add constraint teams_name_everywhere unique (name);
