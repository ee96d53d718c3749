"""The notebooks' handle on a database (enquiries_lab.notebook.open_lab) pointed at the user's
own data: a department the notebook's parameters name but the dataset does not hold is named
in one line, with the departments it does hold, instead of a TypeError deep in a cell."""

from __future__ import annotations

import pytest

from enquiries_lab.errors import LabError
from enquiries_lab.notebook import open_lab


def test_a_department_the_dataset_lacks_is_named_with_those_it_holds(w) -> None:
    lab = open_lab("test", dsn=w.dsn, quiet=True)
    try:
        codes = sorted(c for c, in lab.conn.execute("select code from tenant.departments"))
        assert lab.tenant(codes[0])   # a department it holds

        for ask in (lambda: lab.tenant("NOPE"), lambda: lab.staff("NOPE", "caseworker")):
            with pytest.raises(LabError) as err:
                ask()
            message = str(err.value)
            assert "department 'NOPE' is not in" in message and ", ".join(codes) in message, message
            assert "DEPARTMENT parameter" in message and "\n" not in message
    finally:
        lab.close()
