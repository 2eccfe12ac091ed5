"""Flags survive the spellings used to slip past a filter (the bundled model, on its own test replies)."""

from __future__ import annotations

import random

import pytest
from conftest import DATA, MODEL

from griefguard.dataset import load_labeled
from griefguard.evasion import EVASIONS, evasion_report
from griefguard.scorer import load_scorer


def test_each_rewriting_changes_the_text_as_named() -> None:
    rng = random.Random(1)
    text = "posting your dead baby for likes is disgusting"
    assert EVASIONS["stretched letters"](text, rng) != text
    assert any(c.isdigit() for c in EVASIONS["leetspeak"](text, rng))
    assert any(ord(c) > 0x400 for c in EVASIONS["look-alike letters"](text, rng))
    hidden = EVASIONS["zero-width characters"](text, rng)
    assert any(c in hidden for c in "\u200b\u200c\u200d\u2060") and hidden.replace("\u200b", "") != text
    assert EVASIONS["capitals"](text, rng) != text


@pytest.mark.model
def test_at_least_95_percent_of_flags_survive_every_rewriting() -> None:
    critics = [e.text for e in load_labeled(DATA / "test.csv").examples if e.label == "critical"][:400]
    report = evasion_report(load_scorer(MODEL), critics)
    assert all(share >= 0.95 for share in report.values()), report
