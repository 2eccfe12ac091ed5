"""The README's examples are what the command prints: each `$ griefguard ...` block is run and compared."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```console\n\$ (.+?)\n(.*?)```", README, re.S)


def _run(command: str) -> str:
    shell = command.replace("griefguard ", f"'{sys.executable}' -m griefguard ")
    return subprocess.run(shell, shell=True, capture_output=True, text=True, cwd=ROOT, check=True).stdout


@pytest.mark.parametrize(("command", "shown"), [b for b in BLOCKS if "--format" in b[0]], ids=lambda v: v[:40])
def test_examples_print_what_the_readme_shows(command: str, shown: str) -> None:
    assert _run(command) == shown


def test_the_terminal_table_shows_the_same_scores_and_labels() -> None:
    _, shown = next(b for b in BLOCKS if b[0] == "griefguard classify examples/replies.txt")
    rows = [line.split()[:2] for line in shown.splitlines()[1:] if re.match(r"\d\.\d{3}", line)]
    jsonl = _run("griefguard classify examples/replies.txt --format jsonl")
    actual = [
        (f"{float(m.group(1)):.3f}" + ("!" if m.group(3) == "true" else ""), m.group(2))
        for m in re.finditer(r'"score": ([0-9.e+-]+), "label": "(\w+)", "flagged": (true|false)', jsonl)
    ]
    assert [tuple(r) for r in rows] == actual
    assert len(BLOCKS) >= 4


def test_the_model_table_is_what_the_card_gives() -> None:
    """The README's table of the bundled model's figures is generated from its card (scripts/readme_tables.py)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("readme_tables", ROOT / "scripts" / "readme_tables.py")
    tables = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(tables)  # type: ignore[union-attr]
    card = __import__("json").loads((ROOT / "models" / "griefguard.json").read_text(encoding="utf-8"))
    assert tables.updated(README, card) == README, "run python scripts/readme_tables.py"
    assert tables.render(card).count("\n| ") == len(tables.ROWS) + 1
