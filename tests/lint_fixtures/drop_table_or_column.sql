-- expect: drop-table-or-column line 3
-- Legal holds and every row in them, gone (the view app.legal_holds goes with it).
drop table tenant.legal_holds cascade;
