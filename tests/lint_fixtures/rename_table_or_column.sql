-- expect: rename-table-or-column line 3
-- Every reader of notes.body breaks.
alter table tenant.notes rename column body to note_body;
