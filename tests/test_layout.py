"""How the tests are laid out: what several test files share lives in a helper module of
tests/, never imported from another test module (importing one runs its fixtures' module
set-up twice and ties unrelated tests together)."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_no_test_module_imports_another() -> None:
    found = [
        f"{path.name}: {line.strip()}"
        for path in sorted(TESTS.glob("*.py"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if re.match(r"\s*(from tests\.test_\w+ import|import tests\.test_)", line)
    ]
    assert found == []
