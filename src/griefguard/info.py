"""`griefguard info`: the model card as text for people (it reads the card the model carries; nothing is scored)."""

from __future__ import annotations

from typing import Any

from griefguard.metrics import overview_table, real_table, text_table
from griefguard.scorer import Scorer

__all__ = ["describe"]


def describe(scorer: Scorer) -> str:
    """The model's card: where it is, what it is, what it was trained on and how well it does."""
    card: dict[str, Any] = dict(scorer.card)
    model = scorer.model
    rule = model.sentence_rule
    voc = model.vocabulary
    lines = [
        f"model      {scorer.path}",
        f"created    {card.get('created', '-')} by griefguard {card.get('versions', {}).get('griefguard', '-')}",
        f"labels     {', '.join(model.labels)} ({model.link} logistic regression)",
        f"threshold  {scorer.threshold:.4f} on the probability of critical",
        f"features   word n-grams {voc.min_n}-{voc.max_n}, {voc.n_features} of them; normaliser {voc.normalizer}"
        + (f", negation scope {voc.negation_scope}" if voc.negation_scope else ""),
        "sentences  "
        + (
            f"a sentence scoring {rule.gate:g}+ raises a reply of {rule.min_sentences}+ sentences "
            f"{rule.weight:g} of the way"
            if rule.active
            else "no sentence rule"
        ),
    ]
    for d in card.get("data", []):
        lines.append(f"data       {d['role']:<20} {d['path']}  {d['rows']} rows  sha256 {d['sha256'][:10]}…")
    text = "\n".join(lines) + "\n"
    metrics = card.get("metrics", {})
    named = {"cross-validation": metrics["cross_validation"]} if "cross_validation" in metrics else {}
    named.update(metrics.get("tests", {}))
    if named:
        text += "\n" + text_table(overview_table(named))
    if metrics.get("real"):
        text += "\n" + text_table(real_table(metrics["real"]))
    return text + "\nevery figure, per kind and per label: griefguard info --json\n"
