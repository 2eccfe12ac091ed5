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
from griefguard.model_file import FORMAT_VERSION, POSITIVE_LABEL, ModelCard, ModelData
from griefguard.normalize import Tokens, tokenize
from griefguard.scorer import Scorer
from griefguard.sentences import SentenceRule
from griefguard.training.augment import derived_rows
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
from griefguard.training.shortcuts import critical_terms, phrase_report
from griefguard.training.thread import ThreadParams, select_thread_stage

__all__ = ["TrainResult", "export_model", "fit_model", "train"]

Progress = Callable[[str], None]


@dataclass
class TrainResult:
    """The exported model, its card, and the corpus it was trained and evaluated on."""

    model: ModelData
    card: ModelCard
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
    params: ModelParams, engine: FeatureEngine, classifier: Any, labels: list[str], threshold: float, card: ModelCard
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
    params: ModelParams,
    texts: list[str],
    y: np.ndarray,
    weight: np.ndarray,
    random_state: int = 0,
    tokens: Tokens | None = None,
    docs: np.ndarray | None = None,
) -> tuple[FeatureEngine, Any]:
    """The feature engine and classifier for `params`, fitted on the given rows: all of `texts`, or the rows
    `docs` of `tokens` already tokenised (the corpus cross-validation holds), with `y` and `weight` of those."""
    if tokens is None:
        tokens = tokenize(texts, params.normalizer, params.negation_scope)
    engine = fit_engine(params, tokens, docs)
    rows = engine.rows(engine.encode(tokens))
    X = (rows if docs is None else rows.take(docs)).to_scipy()
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
) -> tuple[ModelParams, Scored, np.ndarray, dict[str, Any]]:
    """Decide the sentence rule from the training rows alone (no test set is looked at): the best-scoring rule
    in cross-validation is kept only if it beats no rule by more than SIMPLER_WINS_WITHIN and costs nothing in
    cross-validation on any hard kind or on real benign comments. Returns the chosen parameters, their score,
    their out-of-fold probabilities and the decision for the card."""
    oof = cv.run(replace(params, sentence_rule=SentenceRule()), sentences=True)
    c = cv.labels.index(POSITIVE_LABEL)
    scored_rules = []
    for rule in sentence_rule_candidates():
        probs = oof.with_rule(rule, c)
        scored = selection_score(cv.rows, cv.labels, probs)
        candidate = replace(params, sentence_rule=rule)
        _record(tried, "sentences", candidate, scored)
        scored_rules.append((candidate, scored, probs))
    none, best = scored_rules[0], max(scored_rules, key=lambda t: t[1].score)
    decision: dict[str, Any] = {"kept": False, "rule": best[0].sentence_rule.__dict__, "checks": {}}
    if best is none or not best[0].sentence_rule.active:
        decision["reason"] = "no rule scored better than none in cross-validation"
        return (*none, decision)
    checks = decision["checks"]
    checks["cross-validated selection score"] = [
        round(best[1].score, 4),
        round(none[1].score, 4),
        best[1].score > none[1].score + SIMPLER_WINS_WITHIN,
    ]
    with_kinds = best[1].metrics["authored"].get("kinds", {})
    for kind, value in none[1].metrics["authored"].get("kinds", {}).items():
        checks[f"cross-validated kind {kind}"] = [
            with_kinds[kind]["accuracy"],
            value["accuracy"],
            with_kinds[kind]["accuracy"] >= value["accuracy"],
        ]
    real_with, real_without = (
        best[1].metrics["parts"].get("real_not_flagged"),
        none[1].metrics["parts"].get("real_not_flagged"),
    )
    if real_with is not None and real_without is not None:
        checks["cross-validated real benign not flagged"] = [real_with, real_without, real_with >= real_without]
    decision["kept"] = all(ok for _, _, ok in checks.values())
    failed = [k for k, (_, _, ok) in checks.items() if not ok]
    decision["reason"] = (
        "better in cross-validation at no cost on any kind or on real comments"
        if decision["kept"]
        else "costs in cross-validation: " + ", ".join(failed)
    )
    say(f"sentence rule {best[0].describe().split()[-1]}: {'kept' if decision['kept'] else 'dropped'}")
    return (*(best if decision["kept"] else none), decision)


def train(
    corpus: Corpus,
    *,
    folds: int = 5,
    random_state: int = 0,
    search: bool = True,
    params: ModelParams | None = None,
    progress: Progress | None = None,
    search_chars: bool = False,
    thread_params: ThreadParams | None = None,
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
    derived = derived_rows(rows)
    say(f"augmentation: {len(derived[0])} derived rows from the openings of polite critics (used if it helps)")
    cv = CrossValidation(rows, labels, folds, random_state, derived=derived)
    start = params or ModelParams()
    selection = select_model(
        cv, replace(start, sentence_rule=SentenceRule()), search=search, say=say, search_chars=search_chars
    )
    chosen = selection.params
    tried = selection.tried
    y = cv.y
    c = labels.index(POSITIVE_LABEL)
    rule_oof: np.ndarray | None = None  # out-of-fold probabilities with the chosen sentence rule
    threshold = selection.scored.threshold
    if search:
        chosen, rule_scored, rule_oof, rule_record = _choose_sentence_rule(cv, chosen, tried, say)
        threshold = rule_scored.threshold
    elif start.sentence_rule.active:  # given, not searched: use it, with its cross-validated threshold
        oof = cv.run(replace(chosen, sentence_rule=SentenceRule()), sentences=True)
        rule_oof = oof.with_rule(start.sentence_rule, c)
        threshold = best_f1_threshold(y == c, rule_oof[:, c])
        chosen = replace(chosen, sentence_rule=start.sentence_rule)
        rule_record = {"kept": True, "reason": "given with --no-search", "rule": start.sentence_rule.__dict__}
    else:
        rule_record = {"kept": False, "reason": "none given (--no-search)"}
    say("fitting the final model on all training rows")
    docs = cv.training_docs(chosen, np.arange(len(rows)))
    engine, classifier = fit_model(
        chosen,
        cv.texts,
        cv.y_all[docs],
        cv.weights(chosen)[docs],
        random_state,
        tokens=cv.tokens(chosen.normalizer, chosen.negation_scope),
        docs=docs,
    )
    card: ModelCard = {}
    model = export_model(chosen, engine, classifier, labels, threshold, card)
    say(f"chosen: {chosen.describe()}  threshold {threshold:.4f}")

    # Cross-validated metrics of the chosen model (authored rows; real rows reported separately).
    final_oof = selection.oof.probabilities
    if chosen.sentence_rule.active:
        assert rule_oof is not None  # the rule was kept: chosen is its candidate
        final_oof = rule_oof
    threads = corpus.thread_rows()
    thread_record: dict[str, Any] = {}
    picked = None
    if len(threads) and len(set(threads.labels)) >= 2:
        say(f"thread stage: {len(threads)} replies read under their parent comment")
        try:
            picked = select_thread_stage(
                Scorer(model), threads, folds, random_state, search=search, params=thread_params, say=say
            )
        except DataError as exc:  # too few thread replies to cross-validate (a small --train with decisions)
            say(f"thread stage skipped: {exc}; replies are read alone")
    if picked is not None:
        model = replace(model, thread=picked.stage)
        thread_record = {
            "params": picked.params.as_dict(),
            "described": picked.params.describe(),
            "rows": len(threads),
            "calibration": {
                "critical_log_odds_shift": round(picked.shift, 4),
                "cross_validated_cut": round(picked.cut, 4),
            },
            "tried": picked.tried,
            "cross_validation": compute_metrics(threads.labels, picked.out_of_fold, labels, threshold, threads.kinds),
        }
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
    test_probabilities = {
        name: scorer.probabilities(data.texts, data.parents, data.posts) for name, data in corpus.tests.items()
    }
    tests = {
        name: labeled_metrics(data, test_probabilities[name], scorer.labels, threshold)
        for name, data in corpus.tests.items()
    }
    for name, data in corpus.tests.items():
        if data.is_thread:  # the same replies read alone: what the thread stage adds
            alone = scorer.probabilities(data.texts)
            tests[f"{name}, reply alone"] = labeled_metrics(data, alone, scorer.labels, threshold)
    if chosen.sentence_rule.active and "test" in corpus.tests:
        plain = Scorer(replace(model, sentence_rule=SentenceRule()))
        tests["test, without the sentence rule"] = evaluate_labeled(plain, corpus.tests["test"], threshold)
    holdout = corpus.real_holdout()
    shortcuts = {"terms": critical_terms(model, rows), "phrases": phrase_report(scorer, corpus.phrases)}
    for entry in shortcuts["phrases"]:
        if entry["leans_critical"]:
            say(
                f"warning: the benign phrase {entry['phrase']!r} alone scores {entry['score']:.3f}, "
                "above half the threshold"
            )
    card.update(
        {
            "format_version": FORMAT_VERSION,
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
                "augmentation": {"derived_rows": len(derived[0]), "used": chosen.augment},
                "thread": thread_record,
            },
            "metrics": {
                "cross_validation": cv_metrics,
                "tests": tests,
                "real": real_report(scorer, holdout, threshold) if holdout else {},
            },
            "shortcuts": shortcuts,
        }
    )
    card["training_seconds"] = round(time.perf_counter() - started, 1)
    return TrainResult(model=replace(model, card=card), card=card, corpus=corpus, test_probabilities=test_probabilities)
