-- 035 enquiry pages keep half free: tenant.enquiries' fill factor goes from 70 (032) to 50.
--
-- Why: a workflow step is a HOT update (the new version on the row's own page, no index entry)
-- only if the page has room for it. The generator, like any batch of casework, changes many
-- enquiries of a page in one transaction, and the page's dead versions cannot be pruned before
-- that transaction ends, so each page needs room for a new version of most of its rows at once:
-- with 30% free, 40% of the steps that could be HOT were not (pg_waldump: 1.9 HOT against 3.0
-- other updates per enquiry), and each of those wrote an entry into every index of the table.
-- With half of each page free, side by side on 100,000 enquiries (benchmarks/generator_io.py):
-- WAL per enquiry 16.0 -> 15.5 KiB, server CPU over client CPU 3.48, 3.41 -> 3.34, 3.28, and the
-- database is smaller, not larger (fewer index entries outweigh the emptier pages). A fill
-- factor of 40 measured the same as 50 within noise, 60 in between (docs/benchmarks.md, fifth
-- pass).
--
-- Applies to pages written from now on; existing pages keep their rows (a VACUUM FULL or
-- pg_repack repacks them, if wanted). Guarantees: none changes.

set local role enquiries_owner;

alter table tenant.enquiries set (fillfactor = 50);
