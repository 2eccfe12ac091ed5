"""The shortcut report: what a model leans on that is not judgment.

A bag-of-words model learns whatever separates its training labels. When critics in the corpus open with "I'm
sorry" and only real offensive tweets swear, "i'm sorry" and "shit" lean critical, and everyday condolences get
flagged. Two checks make such shortcuts visible in every training run and in the model card:
- the terms with the largest weight toward critical, each with the training rows that hold it per label and per
  source, so a reader can see whether a term is judgment ("attention", "fake") or an accident of the data
  ("the family", "lol");
- a phrase table (`phrases.txt` in a data folder: one benign phrase a line, such as "i'm sorry" or "the funeral"),
  each phrase scored alone: a benign phrase that alone scores above half the threshold is a shortcut.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from griefguard.model_file import POSITIVE_LABEL, ModelData
from griefguard.scorer import Scorer
from griefguard.training.data import TrainingRows

__all__ = ["critical_terms", "critical_weights", "phrase_report"]

TOP_TERMS = 40


def critical_weights(model: ModelData) -> np.ndarray:
    """Each word feature's weight toward critical: its critical coefficient's margin over the mean of the other
    labels' (for one-vs-rest too, whose probabilities are normalised across the labels, so a term that raises
    every label's score moves none of them)."""
    coef = model.coef[: model.vocabulary.n_features]
    c = model.labels.index(POSITIVE_LABEL)
    others = [k for k in range(len(model.labels)) if k != c]
    return coef[:, c] - coef[:, others].mean(axis=1)


def _source_name(source: str) -> str:
    return source if source.startswith("real:") else Path(source).as_posix()


def critical_terms(model: ModelData, rows: TrainingRows, top: int = TOP_TERMS) -> list[dict[str, Any]]:
    """The `top` terms with the largest weight toward critical, with the number of training rows holding each,
    per label and per source."""
    weights = critical_weights(model)
    chosen = np.argsort(-weights, kind="stable")[:top]
    engine = Scorer(model)._engine  # the model's own feature engine: the same tokens as scoring
    matrix = engine.transform(rows.texts)
    labels = np.array(rows.labels, dtype=object)
    sources = np.array([_source_name(s) for s in rows.sources], dtype=object)
    report = []
    for feature in chosen.tolist():
        holding = np.unique(matrix.row[matrix.indices == feature])
        report.append(
            {
                "term": " ".join(model.vocabulary.decode(feature)),
                "weight": round(float(weights[feature]), 3),
                "labels": dict(sorted(Counter(labels[holding].tolist()).items())),
                "sources": dict(Counter(sources[holding].tolist()).most_common()),
            }
        )
    return report


def phrase_report(scorer: Scorer, phrases: list[str]) -> list[dict[str, Any]]:
    """Each benign phrase scored alone, and whether it scores above half the model's threshold (a shortcut)."""
    scores = scorer.score_many(phrases) if phrases else np.zeros(0)
    limit = scorer.threshold / 2
    return [
        {"phrase": phrase, "score": round(float(score), 4), "leans_critical": bool(score > limit)}
        for phrase, score in zip(phrases, scores.tolist(), strict=True)
    ]
