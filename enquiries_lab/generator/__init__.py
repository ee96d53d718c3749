"""Realistic multi-department data, generated through the real workflow.

    from enquiries_lab.generator import Params, generate
    generate(dsn, Params(enquiries=10_000, departments=6, seed=1))

Departments are provisioned by the provisioner; every enquiry event is then performed by
the staff member who would do it (SET LOCAL ROLE + context, through RLS, the workflow
triggers and the audit capture), with the history loader's per-row business time so that
years of history load in batches. See docs/generator.md.
"""

from enquiries_lab.generator.run import Params, RunSummary, dataset_digest, generate, plan_departments

__all__ = ["Params", "RunSummary", "dataset_digest", "generate", "plan_departments"]
