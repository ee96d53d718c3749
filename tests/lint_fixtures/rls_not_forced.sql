-- expect: rls-not-forced line 4
-- A later migration relaxes RLS on a table that 010 protected: the finding is this line,
-- not the CREATE TABLE in 009.
alter table tenant.notes no force row level security;
