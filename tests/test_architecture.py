"""The shape of the code: the import contracts of pyproject.toml, and modules of a readable size.

The contracts (``[tool.importlinter]``) are run by import-linter's own command, one test per
contract, so a broken one fails with import-linter's report of the offending import chains.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))
MAX_MODULE_LINES = 600  # STYLE rule: no module over ~600 lines; nothing is exempt


def contract_ids() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return [contract["id"] for contract in config["tool"]["importlinter"]["contracts"]]


def test_the_contracts_are_the_agreed_ones():
    assert contract_ids() == ["layers", "services", "nlu", "entry-points", "acyclic"]


@pytest.mark.parametrize("contract", contract_ids())
def test_import_contract_is_kept(contract: str):
    # --no-cache: no .import_linter_cache folder in the working tree; the analysis takes < 1 s.
    done = subprocess.run(
        [LINT_IMPORTS, "--no-cache", "--contract", contract],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = done.stdout.split("Contracts\n---------\n", 1)[-1]
    assert done.returncode == 0, f"import contract {contract!r} is broken:\n{report}{done.stderr}"


def test_no_module_is_over_600_lines():
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
        for package in ("bot", "handlers")
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    assert len(sizes) > 50  # the walk found the packages
    too_long = {path: lines for path, lines in sizes.items() if lines > MAX_MODULE_LINES}
    assert not too_long, f"modules over {MAX_MODULE_LINES} lines (split them): {too_long}"
