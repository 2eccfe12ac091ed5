"""A whole training run: validate the data, select a model by cross-validation, decide the sentence rule, fit
on every training row, and evaluate once on the test sets and the held-out real comments."""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np

from griefguard import __version__
from griefguard.dataset import LABELS
from griefguard.engine import FeatureEngine
from griefguard.errors import DataError
from griefguard.evaluation import evaluate_labeled, labeled_metrics, real_report
from griefguard.metrics import best_f1_threshold, compute_metrics
from griefguard.model_file import POSITIVE_LABEL, ModelData, SentenceRule
from griefguard.normalize import tokenize
from griefguard.scorer import Scorer
from griefguard.training.data import Corpus
from griefguard.training.params import ModelParams, fit_classifier, fit_engine
from griefguard.training.search import (
    SIMPLER_WINS_WITHIN,
    CrossValidation,
    Scored,
    _record,
    select_model,
    selection_score,
    sentence_rule_candidates,
)

__all__ = ["TrainResult", "export_model", "fit_model", "train"]

Progress = Callable[[str], None]
DILUTION_SET = "dilution"
REALISTIC_SET = "realistic"


@dataclass
class TrainResult:
    """The exported model, its card, and the corpus it was trained and evaluated on."""

    model: ModelData
    card: dict[str, Any]
    corpus: Corpus
    test_probabilities: dict[str, np.ndarray] = field(default_factory=dict)  # each test set, scored once


def _labels(corpus: Corpus) -> list[str]:
    present = {e.label for d in corpus.train_files for e in d.examples}
    present |= {e.label for d in corpus.real_files.values() for e in d.examples if e.split == "train"}
    if POSITIVE_LABEL not in present:
        raise DataError(f"{corpus.train_files[0].path}: no '{POSITIVE_LABEL}' rows to learn from")
    labels = [label for label in LABELS if label in present]
    if len(labels) < 2:
        raise DataError(f"{corpus.train_files[0].path}: only one label ({labels[0]}); nothing to tell apart")
    return labels


def export_model(
    params: ModelParams, engine: FeatureEngine, classifier: Any, labels: list[str], threshold: float, card: dict
) -> ModelData:
    """A fitted classifier and its feature engine as the plain arrays of a model file."""
    coef = np.asarray(classifier.coef_, dtype=np.float64)
    intercept = np.asarray(classifier.intercept_, dtype=np.float64)
    if coef.shape[0] == 1:  # scikit-learn's binary form: one row for the second class against the first
        coef = np.vstack([np.zeros_like(coef[0]), coef[0]])
        intercept = np.array([0.0, intercept[0]])
    link = params.link if len(labels) > 2 else "softmax"
    return ModelData(
        labels=tuple(labels),
        vocabulary=engine.vocabulary,
        idf=engine.idf,
        coef=np.ascontiguousarray(coef.T),
        intercept=intercept,
        sublinear_tf=params.sublinear_tf,
        link=link,
        threshold=float(threshold),
        sentence_rule=params.sentence_rule,
        card=card,
        chars=engine.chars,
        char_idf=engine.char_idf,
    )


def fit_model(
    params: ModelParams, texts: list[str], y: np.ndarray, weight: np.ndarray, random_state: int = 0
) -> tuple[FeatureEngine, Any]:
    """The feature engine and classifier for `params`, fitted on all the given rows."""
    tokens = tokenize(texts, params.normalizer, params.negation_scope)
    engine = fit_engine(params, tokens)
    X = engine.rows(engine.encode(tokens)).to_scipy()
    return engine, fit_classifier(params, X, y, weight, random_state)


def _versions() -> dict[str, str]:
    import scipy
    import sklearn

    return {
        "python": platform.python_version(),
        "griefguard": __version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
    }


def _choose_sentence_rule(
    cv: CrossValidation, params: ModelParams, tried: list[dict], say: Progress
) -> tuple[ModelParams, Scored, np.ndarray]:
    """The best-scoring sentence rule in cross-validation (no rule unless one scores at least as well), its
    selection score and its out-of-fold probabilities."""
    oof = cv.run(replace(params, sentence_rule=SentenceRule()), sentences=True)
    c = cv.labels.index(POSITIVE_LABEL)
    best = None
    for rule in sentence_rule_candidates():
        probs = oof.with_rule(rule, c)
        scored = selection_score(cv.rows, cv.labels, probs)
        candidate = replace(params, sentence_rule=rule)
        _record(tried, "sentences", candidate, scored)
        if best is None or scored.score > best[1].score:
            best = (candidate, scored, probs)
    assert best is not None
    say(f"sentence rule in cross-validation: {best[0].describe()} (score {best[1].score:.4f})")
    return best


def _rule_decision(
    corpus: Corpus, with_rule: Scorer, without: Scorer, thresholds: tuple[float, float]
) -> dict[str, Any]:
    """Keep a sentence rule only if it helps on the dilution set and costs nothing on the test file (macro F1
    and every kind), on the realistic set, or on real benign comments."""
    decision: dict[str, Any] = {"kept": False, "checks": {}}
    if DILUTION_SET not in corpus.tests:
        decision["reason"] = "no dilution set to show that it helps"
        return decision
    checks = decision["checks"]
    a = evaluate_labeled(with_rule, corpus.tests[DILUTION_SET], thresholds[0])
    b = evaluate_labeled(without, corpus.tests[DILUTION_SET], thresholds[1])
    checks["dilution flag accuracy"] = [a["flag_accuracy"], b["flag_accuracy"], a["flag_accuracy"] > b["flag_accuracy"]]
    for name in ("test", REALISTIC_SET):
        if name in corpus.tests:
            a = evaluate_labeled(with_rule, corpus.tests[name], thresholds[0])
            b = evaluate_labeled(without, corpus.tests[name], thresholds[1])
            checks[f"{name} flag macro F1"] = [
                a["flag_macro_f1"],
                b["flag_macro_f1"],
                a["flag_macro_f1"] >= b["flag_macro_f1"],
            ]
            for kind, value in b.get("kinds", {}).items():
                ok = a["kinds"][kind]["accuracy"] >= value["accuracy"]
                checks[f"{name} kind {kind}"] = [a["kinds"][kind]["accuracy"], value["accuracy"], ok]
    holdout = corpus.real_holdout()
    if holdout:
        ra, rb = real_report(with_rule, holdout, thresholds[0]), real_report(without, holdout, thresholds[1])
        for source in ra:
            for key in ("neutral_flagged", "empathic_flagged"):
                if key in ra[source]:
                    checks[f"real {source} {key}"] = [
                        ra[source][key],
                        rb[source][key],
                        ra[source][key] <= rb[source][key],
                    ]
    decision["kept"] = all(ok for _, _, ok in checks.values())
    failed = [k for k, (_, _, ok) in checks.items() if not ok]
    decision["reason"] = "helps on the dilution set at no cost" if decision["kept"] else "costs: " + ", ".join(failed)
    return decision


def train(
    corpus: Corpus,
    *,
    folds: int = 5,
    random_state: int = 0,
    search: bool = True,
    params: ModelParams | None = None,
    progress: Progress | None = None,
    search_chars: bool = False,
) -> TrainResult:
    """Select a model by cross-validation on the training rows, fit it on all of them, and evaluate it once.

    With `search=False` the given `params` (or the defaults) are used as they are, sentence rule included;
    cross-validation still picks the threshold. `search_chars` adds character n-grams to the feature sets
    tried. Raises DataError when the data cannot train a model.
    """
    started = time.perf_counter()
    say = progress or (lambda _msg: None)
    labels = _labels(corpus)
    rows = corpus.training_rows()
    counts = {label: rows.labels.count(label) for label in labels}
    for label, count in counts.items():
        if count < folds:
            raise DataError(
                f"{corpus.train_files[0].path}: only {count} '{label}' rows; "
                f"{folds}-fold cross-validation needs at least {folds}"
            )
    per_label = ", ".join(f"{n} {k}" for k, n in counts.items())
    say(f"training on {len(rows)} replies ({per_label}), {int(rows.is_real.sum())} of them real")
    cv = CrossValidation(rows, labels, folds, random_state)
    start = params or ModelParams()
    selection = select_model(
        cv, replace(start, sentence_rule=SentenceRule()), search=search, say=say, search_chars=search_chars
    )
    chosen = selection.params
    tried = selection.tried
    y = cv.y
    c = labels.index(POSITIVE_LABEL)
    rule_record: dict[str, Any] = {}
    rule_scored: Scored | None = None
    rule_oof: np.ndarray | None = None  # out-of-fold probabilities with the candidate's sentence rule
    if search:
        candidate, rule_scored, rule_oof = _choose_sentence_rule(cv, chosen, tried, say)
    else:
        candidate = replace(chosen, sentence_rule=start.sentence_rule)
    say("fitting the final model on all training rows")
    engine, classifier = fit_model(chosen, rows.texts, y, cv.weights(chosen), random_state)
    threshold = selection.scored.threshold
    card: dict[str, Any] = {}
    model = export_model(chosen, engine, classifier, labels, threshold, card)
    if candidate.sentence_rule.active:
        if rule_scored is None:  # given, not searched: use it
            oof = cv.run(replace(chosen, sentence_rule=SentenceRule()), sentences=True)
            rule_oof = oof.with_rule(candidate.sentence_rule, c)
            rule_threshold = best_f1_threshold(y == c, rule_oof[:, c])
            ruled = replace(model, sentence_rule=candidate.sentence_rule, threshold=rule_threshold)
            rule_record = {"kept": True, "reason": "given with --no-search"}
        else:
            rule_threshold = rule_scored.threshold
            ruled = replace(model, sentence_rule=candidate.sentence_rule, threshold=rule_threshold)
            rule_record = _rule_decision(corpus, Scorer(ruled), Scorer(model), (rule_threshold, threshold))
        rule_record["rule"] = candidate.sentence_rule.__dict__
        if rule_record["kept"]:
            model, chosen, threshold = ruled, candidate, rule_threshold
        verdict = "kept" if rule_record["kept"] else "dropped"
        say(f"sentence rule {candidate.describe().split()[-1]}: {verdict} ({rule_record['reason']})")
    else:
        rule_record = {"kept": False, "reason": "no rule scored better than none in cross-validation"}
    say(f"chosen: {chosen.describe()}  threshold {threshold:.4f}")

    # Cross-validated metrics of the chosen model (authored rows; real rows reported separately).
    final_oof = selection.oof.probabilities
    if chosen.sentence_rule.active:
        assert rule_oof is not None  # the rule was kept: chosen is its candidate
        final_oof = rule_oof
    authored = ~rows.is_real
    cv_metrics = compute_metrics(
        [lab for lab, a in zip(rows.labels, authored, strict=True) if a],
        final_oof[authored],
        labels,
        threshold,
        [k for k, a in zip(rows.kinds, authored, strict=True) if a],
        [x for x, a in zip(rows.contexts, authored, strict=True) if a],
    )
    scorer = Scorer(model)
    test_probabilities = {name: scorer.probabilities(data.texts) for name, data in corpus.tests.items()}
    tests = {
        name: labeled_metrics(data, test_probabilities[name], scorer.labels, threshold)
        for name, data in corpus.tests.items()
    }
    if chosen.sentence_rule.active and "test" in corpus.tests:
        plain = Scorer(replace(model, sentence_rule=SentenceRule()))
        tests["test, without the sentence rule"] = evaluate_labeled(plain, corpus.tests["test"], threshold)
    holdout = corpus.real_holdout()
    card.update(
        {
            "format_version": 2,
            "created": datetime.now(UTC).replace(microsecond=0).isoformat(),
            "versions": _versions(),
            "labels": labels,
            "data": [
                {"role": role, "path": d.path.as_posix(), "sha256": d.sha256, "rows": len(d)}
                for role, d in corpus.files()
            ],
            "params": chosen.as_dict(),
            "threshold": round(threshold, 6),
            "selection": {
                "method": f"stratified {folds}-fold cross-validation on the training rows "
                f"(random_state={random_state}); "
                "selection score = mean of authored flag macro F1, mean hard-kind accuracy, authored label macro F1, "
                "share of real neutral and empathic comments not flagged, and real hostile-vs-benign ROC AUC; "
                f"each stage keeps the simplest candidate within {SIMPLER_WINS_WITHIN} of its best",
                "tried": tried,
                "sentence_rule": rule_record,
            },
            "metrics": {
                "cross_validation": cv_metrics,
                "tests": tests,
                "real": real_report(scorer, holdout, threshold) if holdout else {},
            },
        }
    )
    card["training_seconds"] = round(time.perf_counter() - started, 1)
    return TrainResult(model=replace(model, card=card), card=card, corpus=corpus, test_probabilities=test_probabilities)
