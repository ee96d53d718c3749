"""The lint rules, one file each (in the spirit of supabase/splinter).

A rule is either
* a `.sql` file: a header of `-- key: value` lines (id, title, fix) and one query against
  the catalog, run with a single parameter `$1`, the project settings as jsonb
  (enquiries_lab/lint/project.toml, plus `app_roles`). It returns one row per finding:
  `object` (what is wrong, by name), `message`, `blame` (the provenance key of the object
  whose history decides the file and line) and `blame_properties` (which of its properties;
  empty: the statement that created it). Catalog rules also run against a live database
  (`--db`). Or
* a `.py` module defining ID, TITLE, FIX, NEEDS_MIGRATIONS and `check(context)`, for what
  the catalog alone cannot tell (the tokens of a clause, the history of drops and renames,
  the shape of a policy's expression tree).

Adding a rule is adding a file here, a violating fixture in tests/lint_fixtures/, and its
row in docs/lint.md.
"""
