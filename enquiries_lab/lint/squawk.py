"""squawk's zero-downtime lints, as extra findings of `enquiries-lab lint --squawk`.

squawk (MIT; the PyPI package squawk-cli ships its binary) knows what our rules do not: which
statements take which locks on a populated table. Its findings join ours with the rule id
`squawk-<its rule>`, its advice as the fix, and the same acknowledgments
(`-- lint: allow squawk-<rule>: <reason>`). Configuration: squawk.toml beside this file.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Sequence

from enquiries_lab.lint.shadow import LintError

CONFIG = Path(__file__).resolve().with_name("squawk.toml")
PREFIX = "squawk-"


def executable() -> str:
    beside = Path(sys.executable).parent / "squawk"
    found = str(beside) if beside.exists() else shutil.which("squawk")
    if not found:
        raise LintError("squawk is not installed: pip install squawk-cli (it is in the dev extra)")
    return found


# What squawk's advice means under this project's runner (one transaction per file).
NOTES = {
    "require-concurrent-index-creation":
        " (not possible here: the runner wraps each file in a transaction, and audit.entries is partitioned; on a "
        "populated table build the index per partition in a maintenance window, or acknowledge the write pause)",
    "ban-concurrent-index-creation-in-transaction": " (every migration file runs in one transaction)",
    "transaction-nesting": " (the runner already wraps each file in a transaction; remove BEGIN/COMMIT)",
}


def run(paths: Sequence[Path]) -> dict[Path, list[tuple[int, str, str, str]]]:
    """path -> [(1-based line, rule id, message, fix)]."""
    if not paths:
        return {}
    proc = subprocess.run([executable(), "--config", str(CONFIG), "--reporter", "json", *map(str, paths)],
                          capture_output=True, text=True, timeout=120)
    try:
        reported = json.loads(proc.stdout or "[]")
    except json.JSONDecodeError:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise LintError(f"squawk failed: {detail[-1] if detail else proc.returncode}") from None
    found: dict[Path, list[tuple[int, str, str, str]]] = {}
    for item in reported:
        found.setdefault(Path(item["file"]).resolve(), []).append(
            (int(item["line"]) + 1, PREFIX + item["rule_name"], item["message"],
             (item.get("help") or "") + NOTES.get(item["rule_name"], "")))
    return found
