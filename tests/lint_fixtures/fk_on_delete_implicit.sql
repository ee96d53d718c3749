-- expect: fk-on-delete-implicit line 5
-- A foreign key to reference data with no ON DELETE: the catalog says NO ACTION either way,
-- so only the text shows it was never decided. The finding is the clause's line.
alter table tenant.notes
    add constraint notes_channel_checked foreign key (channel) references core.channels (channel);
