"""The migration validator: multi-tenant and audit rules on the cumulative schema.

    from enquiries_lab.lint import lint_migrations, lint_database
    report = lint_migrations()            # the project's sql/, on a throwaway database
    report.findings                       # [Finding(rule, file, line, object, message, fix)]

See docs/lint.md; the command is `enquiries-lab lint` (enquiries_lab/lint/cli.py).
"""

from enquiries_lab.lint.engine import Finding, Report, lint_database, lint_migrations, load_rules

__all__ = ["Finding", "Report", "lint_database", "lint_migrations", "load_rules"]
