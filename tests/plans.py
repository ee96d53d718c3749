"""The plans of statements run inside functions and triggers, as auto_explain logs them to the
client (nested statements, NOTICE level, JSON), for the plan guards. Needs a superuser
connection: only a superuser may load auto_explain."""

from __future__ import annotations

import json
import psycopg


def nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


class Log:
    """What auto_explain logged on a connection: `plans()` since the last `clear()`."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def plans(self, reading: str = "") -> list[dict]:
        """The plans logged, of statements whose text contains `reading`."""
        plans = [json.loads(m[m.index("{"):]) for m in self.messages if "plan:" in m]
        return [p for p in plans if reading in p.get("Query Text", "")]

    def clear(self) -> None:
        self.messages.clear()


def explained(conn: psycopg.Connection, *, analyze: bool = False) -> Log:
    """Log the plan of every statement `conn` runs from now on, nested ones included;
    `analyze` adds the rows each node read."""
    log = Log()
    conn.add_notice_handler(lambda d: log.messages.append(d.message_primary or ""))
    conn.execute("load 'auto_explain'")
    settings = {"log_min_duration": "0", "log_nested_statements": "on", "log_format": "json", "log_level": "notice"}
    if analyze:
        settings |= {"log_analyze": "on", "log_timing": "off"}
    for setting, value in settings.items():
        conn.execute(f"set auto_explain.{setting} = '{value}'")
    return log


def rows_read(plans, relation: str) -> list[tuple]:
    """(node, index condition, rows read) of every scan of `relation` in `plans`: the rows a
    node returned and the rows its filter removed, times its loops (needs `analyze`)."""
    return [(n["Node Type"], n.get("Index Cond", ""),
             (n.get("Actual Rows", 0) + n.get("Rows Removed by Filter", 0)) * n.get("Actual Loops", 1))
            for p in plans for n in nodes(p["Plan"]) if n.get("Relation Name") == relation]
