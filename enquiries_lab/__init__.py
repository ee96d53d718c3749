"""enquiries-lab: a workbench for multi-tenant, audit-heavy PostgreSQL.

The package is a library first; the CLI (`enquiries_lab.cli`) and the notebooks are
thin layers over it.
"""

from enquiries_lab.errors import LabError

__version__ = "0.1.0"
__all__ = ["LabError", "__version__"]
