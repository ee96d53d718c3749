"""What `enquiries-lab demo` prints: the server, the installed schema and its data.

Read as the connecting (admin) user, so every department is shown.
"""

from __future__ import annotations

import psycopg


def render(conn: psycopg.Connection) -> str:
    version = conn.execute("show server_version").fetchone()[0]
    lines = [f"server: PostgreSQL {version}", "",
             "departments (live enquiries by status; soft-deleted ones apart, as the views hide them):"]
    rows = conn.execute(
        """
        select d.code, d.name,
               (select count(*) from tenant.staff s where s.tenant_id = d.tenant_id) as staff,
               coalesce((select string_agg(status || ' ' || n, ', ' order by sort_order)
                         from (select e.status, st.sort_order, count(*) as n
                               from tenant.enquiries e join core.statuses st using (status)
                               where e.tenant_id = d.tenant_id and e.deleted_at is null group by 1, 2) x), 'none'),
               (select string_agg(status || ' ' || n, ', ' order by sort_order)
                from (select e.status, st.sort_order, count(*) as n
                      from tenant.enquiries e join core.statuses st using (status)
                      where e.tenant_id = d.tenant_id and e.deleted_at is not null group by 1, 2) x)
        from tenant.departments d order by d.code
        """
    ).fetchall()
    if not rows:
        lines.append("  (none yet)")
    for code, name, staff, live, deleted in rows:
        lines.append(f"  {code:<6} {name:<40} staff {staff:>3}   {live}")
        if deleted:
            lines.append(f"  {'':<6} {'':<40} {'':>9}   soft-deleted: {deleted}")
    audit = conn.execute("select count(*) from audit.entries").fetchone()[0]
    lines.append(f"audit entries: {audit}")

    lines += ["", "roles:"]
    for name, login, flags, in_roles in conn.execute(
        """
        select r.rolname, r.rolcanlogin,
               concat_ws(' ', case when r.rolsuper then 'SUPERUSER' end, case when r.rolbypassrls then 'BYPASSRLS' end),
               coalesce((select string_agg(g.rolname, ', ' order by g.rolname) from pg_auth_members m
                         join pg_roles g on g.oid = m.roleid where m.member = r.oid), '')
        from pg_roles r where r.rolname like 'enquiries\\_%' order by r.rolcanlogin, r.rolname
        """
    ):
        lines.append(f"  {name:<30} {'login' if login else 'no login':<9} {flags}"
                     f"{('may act as: ' + in_roles) if in_roles else ''}")

    lines += ["", "workflow (from -> to: who; * needs an approved escalation):"]
    for frm, to, who, approval in conn.execute(
        """
        select t.from_status, t.to_status, string_agg(t.staff_role, ', ' order by t.staff_role), bool_or(t.requires_approval)
        from core.status_transitions t
        join core.statuses f on f.status = t.from_status join core.statuses s on s.status = t.to_status
        group by 1, 2, f.sort_order, s.sort_order order by f.sort_order, s.sort_order
        """
    ):
        lines.append(f"  {frm:>16} -> {to:<16} {who}{' *' if approval else ''}")
    return "\n".join(lines)
