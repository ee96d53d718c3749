"""The notebooks are tests: the suite's configuration runs every one of them under nbval."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.req("REQ-CMP-3")
def test_every_notebook_and_every_code_cell_is_collected_by_nbval_with_outputs_to_compare():
    assert len(NOTEBOOKS) >= 6
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "notebooks"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    collected = [line for line in proc.stdout.splitlines() if ".ipynb::" in line]
    for notebook in NOTEBOOKS:
        cells = [c for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code"]
        items = [line for line in collected if line.startswith(f"notebooks/{notebook.name}::")]
        assert len(items) == len(cells) > 0, notebook.name
        # nbval compares outputs only where the notebook holds them: a notebook saved without
        # outputs would be executed but check nothing
        assert sum(1 for c in cells if c.get("outputs")) >= len(cells) // 2, f"{notebook.name} was saved without outputs"
