"""The two-department world builds through the real API and every tenant table has rows of both departments."""

import psycopg
from world import TENANT_TABLES


def test_every_tenant_table_holds_rows_of_both_departments(world):
    with psycopg.connect(world.dsn) as conn:
        for table in TENANT_TABLES:
            tenants = conn.execute(f"select count(distinct tenant_id) from tenant.{table}").fetchone()[0]
            assert tenants == 2, table
