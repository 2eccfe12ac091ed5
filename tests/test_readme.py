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
