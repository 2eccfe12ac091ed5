"""Fit, select, evaluate and export the TF-IDF + logistic-regression model (training only; imports scikit-learn).

Model selection uses stratified cross-validation on the training data only: feature sets, then the
regularisation strength, then the normaliser and TF scaling, then how much a reply's most critical sentence
counts. The test file is scored once, at the end, by the same numpy scorer the product uses.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion, Pipeline

from griefguard import __version__
from griefguard.dataset import HARD_KINDS, LabeledData, find_problems, load_labeled
from griefguard.errors import DataError
from griefguard.features import Analyzer
from griefguard.metrics import best_f1_threshold, compute_metrics
from griefguard.model_file import FORMAT, FORMAT_VERSION
from griefguard.normalize import split_sentences
from griefguard.scorer import Scorer

__all__ = ["SEARCH_FEATURES", "ModelParams", "TrainResult", "build_pipeline", "export_pipeline", "train"]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ModelParams:
    """Everything that defines a model besides its data. `word`/`char` are n-gram ranges or None."""

    word: tuple[int, int] | None = (1, 2)
    char: tuple[int, int] | None = (2, 5)
    normalizer: str = "full"
    sublinear_tf: bool = True
    min_df: int = 2
    C: float = 4.0
    sentence_weight: float = 0.0
    sentence_gate: float = 1.0
    sentence_min: int = 2

    def describe(self) -> str:
        parts = []
        if self.word:
            parts.append(f"word{self.word[0]}-{self.word[1]}")
        if self.char:
            parts.append(f"char{self.char[0]}-{self.char[1]}")
        tf = "sublinear" if self.sublinear_tf else "raw-tf"
        sentences = (
            f"sent={self.sentence_weight:g}@{self.sentence_gate:g}/{self.sentence_min}"
            if self.sentence_weight
            else "sent=0"
        )
        return f"{'+'.join(parts)} C={self.C:g} norm={self.normalizer} {tf} {sentences}"

    def analyzers(self) -> list[tuple[str, Analyzer]]:
        out = []
        if self.word:
            out.append(("word", Analyzer("word", *self.word, normalizer=self.normalizer)))
        if self.char:
            out.append(("char", Analyzer("char", *self.char, normalizer=self.normalizer)))
        return out

    @classmethod
    def from_dict(cls, params: dict[str, Any]) -> ModelParams:
        """The parameters recorded in a model card (`as_dict`), to refit the same model."""
        return cls(
            word=tuple(params["word_ngrams"]) if params["word_ngrams"] else None,
            char=tuple(params["char_ngrams"]) if params["char_ngrams"] else None,
            normalizer=params["normalizer"],
            sublinear_tf=params["sublinear_tf"],
            min_df=params["min_df"],
            C=params["C"],
            sentence_weight=params["sentence_weight"],
            sentence_gate=params["sentence_gate"],
            sentence_min=params["sentence_min"],
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "word_ngrams": list(self.word) if self.word else None,
            "char_ngrams": list(self.char) if self.char else None,
            "normalizer": self.normalizer,
            "sublinear_tf": self.sublinear_tf,
            "min_df": self.min_df,
            "C": self.C,
            "sentence_weight": self.sentence_weight,
            "sentence_gate": self.sentence_gate,
            "sentence_min": self.sentence_min,
            "solver": "liblinear",
        }


# Feature sets tried first (each at the default C), in order of complexity; ties keep the simpler one.
SEARCH_FEATURES: list[tuple[tuple[int, int] | None, tuple[int, int] | None]] = [
    ((1, 1), None),
    ((1, 2), None),
    ((1, 3), None),
    (None, (2, 5)),
    ((1, 2), (2, 5)),
    ((1, 3), (2, 5)),
    ((1, 2), (1, 4)),
    ((1, 2), (3, 6)),
]
SEARCH_C = [1.0, 4.0, 16.0, 64.0]
# Each stage keeps the simplest candidate whose selection score is within this of the stage's best: smaller
# differences are noise in 5-fold cross-validation on a few thousand replies, and simpler models generalise
# and score faster.
SIMPLER_WINS_WITHIN = 0.002
# The sentence rule: in a reply of at least `min` sentences, a sentence the model scores at least `gate` raises
# the reply's score `weight` of the way towards its own. Chosen as the strongest rule (highest weight, then
# lowest gate, then fewest sentences) whose selection score is within SENTENCE_TOLERANCE of having no rule,
# because the rule protects long replies (a blaming sentence among condolences) that cross-validation sees
# few of; within the tolerance it costs nothing measurable.
# Gates start at 0.9: only a sentence the model is at least 90% sure of counts as clearly critical.
SEARCH_SENTENCE_RULES = [(0.0, 1.0, 2)] + [
    (w, g, m) for w in (0.25, 0.5, 1.0) for g in (0.9, 0.95, 0.98) for m in (2, 3, 4, 5)
]
SENTENCE_TOLERANCE = 0.002


def _vectorizer(analyzer: Callable[[Any], list[str]], params: ModelParams) -> TfidfVectorizer:
    return TfidfVectorizer(analyzer=analyzer, sublinear_tf=params.sublinear_tf, min_df=params.min_df)


def _classifier(params: ModelParams, random_state: int) -> LogisticRegression:
    return LogisticRegression(C=params.C, solver="liblinear", max_iter=1000, random_state=random_state)


def build_pipeline(params: ModelParams, random_state: int = 0) -> Pipeline:
    """The scikit-learn pipeline for `params`: a union of TF-IDF blocks feeding a logistic regression."""
    union = FeatureUnion([(name, _vectorizer(a, params)) for name, a in params.analyzers()])
    return Pipeline([("features", union), ("classifier", _classifier(params, random_state))])


def export_pipeline(pipeline: Pipeline, params: ModelParams, threshold: float, card: dict[str, Any]) -> dict[str, Any]:
    """A fitted pipeline as plain arrays the numpy scorer reads (no scikit-learn objects inside)."""
    classifier: LogisticRegression = pipeline.named_steps["classifier"]
    coef = classifier.coef_[0].astype(np.float64)
    blocks, start = [], 0
    for (_, analyzer), (_, vectorizer) in zip(
        params.analyzers(), pipeline.named_steps["features"].transformer_list, strict=True
    ):
        size = len(vectorizer.vocabulary_)
        blocks.append(
            {
                "analyzer": {
                    "kind": analyzer.kind,
                    "min_n": analyzer.min_n,
                    "max_n": analyzer.max_n,
                    "normalizer": analyzer.normalizer,
                },
                "vocabulary": {term: int(i) for term, i in sorted(vectorizer.vocabulary_.items())},
                "idf": np.asarray(vectorizer.idf_, dtype=np.float64),
                "coef": coef[start : start + size].copy(),
                "sublinear_tf": params.sublinear_tf,
            }
        )
        start += size
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "blocks": blocks,
        "intercept": float(classifier.intercept_[0]),
        "threshold": float(threshold),
        "sentence_weight": float(params.sentence_weight),
        "sentence_gate": float(params.sentence_gate),
        "sentence_min": int(params.sentence_min),
        "card": card,
    }


# -- cross-validation --------------------------------------------------------------------------------


def _passthrough(features: list[str]) -> list[str]:
    return features


class _FeatureCache:
    """Analyzer output per text, computed once and shared by every fold and candidate."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.texts = list(texts)
        self._cache: dict[Analyzer, list[list[str]]] = {}

    def get(self, analyzer: Analyzer) -> list[list[str]]:
        if analyzer not in self._cache:
            self._cache[analyzer] = [analyzer(t) for t in self.texts]
        return self._cache[analyzer]


def _fit_predict(
    params: ModelParams,
    cache: _FeatureCache,
    train_idx: np.ndarray,
    y: np.ndarray,
    predict: list[list[list[str]]],
    random_state: int,
) -> list[np.ndarray]:
    """Fit on the rows `train_idx`; return probabilities for each list of pre-analysed documents in `predict`."""
    train_blocks, predict_blocks = [], [[] for _ in predict]
    for b, (_, analyzer) in enumerate(params.analyzers()):
        feats = cache.get(analyzer)
        vec = _vectorizer(_passthrough, params)
        train_blocks.append(vec.fit_transform([feats[i] for i in train_idx]))
        for k, docs in enumerate(predict):
            if docs:
                predict_blocks[k].append(vec.transform([d[b] for d in docs]))
    clf = _classifier(params, random_state).fit(sparse.hstack(train_blocks, format="csr"), y[train_idx])
    return [
        clf.predict_proba(sparse.hstack(blocks, format="csr"))[:, 1] if docs else np.zeros(0)
        for blocks, docs in zip(predict_blocks, predict, strict=True)
    ]


@dataclass
class _CVResult:
    params: ModelParams
    whole: np.ndarray  # out-of-fold whole-reply probabilities
    worst_sentence: np.ndarray | None  # out-of-fold probability of each reply's most critical sentence


def _cross_validate(
    params: ModelParams,
    cache: _FeatureCache,
    sentence_cache: _FeatureCache | None,
    owners: np.ndarray,
    y: np.ndarray,
    folds: StratifiedKFold,
    random_state: int,
) -> _CVResult:
    whole = np.zeros(len(y))
    worst = np.zeros(len(y)) if sentence_cache is not None else None
    analyzers = params.analyzers()
    for train_idx, test_idx in folds.split(np.zeros(len(y)), y):
        held = [[cache.get(a)[i] for _, a in analyzers] for i in test_idx]
        predict = [held]
        sent_rows = np.array([], dtype=np.int64)
        if sentence_cache is not None:
            sent_rows = np.flatnonzero(np.isin(owners, test_idx))
            predict.append([[sentence_cache.get(a)[j] for _, a in analyzers] for j in sent_rows])
        out = _fit_predict(params, cache, train_idx, y, predict, random_state)
        whole[test_idx] = out[0]
        if worst is not None and len(sent_rows):
            np.maximum.at(worst, owners[sent_rows], out[1])
    return _CVResult(params, whole, worst)


def _combine(
    whole: np.ndarray, worst: np.ndarray | None, count: np.ndarray, weight: float, gate: float, minimum: int
) -> np.ndarray:
    """The scorer's sentence rule, on cross-validated whole-reply and worst-sentence probabilities."""
    if worst is None or weight == 0.0:
        return whole
    raising = np.where((worst >= gate) & (count >= minimum), worst, 0.0)
    return whole + weight * np.maximum(raising - whole, 0.0)


def _selection_score(metrics: dict[str, Any]) -> float:
    """What model selection maximises: macro F1, averaged with mean accuracy over the hard-case kinds."""
    kinds = [v["accuracy"] for k, v in metrics.get("kinds", {}).items() if k in HARD_KINDS]
    if not kinds:
        return float(metrics["macro_f1"])
    return 0.5 * float(metrics["macro_f1"]) + 0.5 * float(np.mean(kinds))


# -- the whole run -----------------------------------------------------------------------------------


@dataclass
class TrainResult:
    """The exported model (plain arrays), its card, and the test data it was scored on (if any)."""

    model: dict[str, Any]
    card: dict[str, Any]
    pipeline: Pipeline
    test: LabeledData | None = None


def _library_versions() -> dict[str, str]:
    import joblib
    import scipy
    import sklearn

    return {
        "python": platform.python_version(),
        "griefguard": __version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "joblib": joblib.__version__,
    }


def _data_entry(data: LabeledData, role: str) -> dict[str, Any]:
    return {"role": role, "path": data.path.as_posix(), "sha256": data.sha256, "rows": len(data)}


def train(
    train_paths: Sequence[str | Path],
    test_path: str | Path | None = None,
    *,
    text_column: str = "text",
    label_column: str = "label",
    folds: int = 5,
    random_state: int = 0,
    search: bool = True,
    params: ModelParams | None = None,
    progress: Progress | None = None,
) -> TrainResult:
    """Validate the data, select a model by cross-validation, fit it on all training rows, score the test file.

    `train_paths` are the main training file and any extra ones (concatenated). With `search=False` the
    given `params` (or the defaults) are used as they are; cross-validation still picks the threshold.
    Raises DataError for any problem in the data.
    """
    started = time.perf_counter()
    say = progress or (lambda _msg: None)
    datasets = [load_labeled(p, text_column, label_column, check=False) for p in train_paths]
    test = load_labeled(test_path, text_column, label_column, check=False) if test_path is not None else None
    problems = find_problems([*datasets, *([test] if test else [])])
    if problems:
        more = f" (+{len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise DataError(problems[0] + more)
    examples = [e for d in datasets for e in d.examples]
    texts = [e.text for e in examples]
    y = np.array([int(e.label == "critical") for e in examples])
    kinds = [e.kind for e in examples]
    for label, count in (("critical", int(y.sum())), ("supportive", int(len(y) - y.sum()))):
        if count < folds:
            raise DataError(
                f"{datasets[0].path}: only {count} '{label}' rows; {folds}-fold cross-validation needs at least {folds}"
            )
    say(f"training on {len(texts)} replies ({int(y.sum())} critical) from {len(datasets)} file(s)")

    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=random_state)
    cache = _FeatureCache(texts)
    sentence_texts, owner_list = [], []
    for i, t in enumerate(texts):
        parts = split_sentences(t)
        if len(parts) > 1:
            sentence_texts.extend(parts)
            owner_list.extend([i] * len(parts))
    sentence_cache = _FeatureCache(sentence_texts)
    owners = np.asarray(owner_list, dtype=np.int64)
    counts = np.bincount(owners, minlength=len(texts))  # sentences per reply (0 for one-sentence replies)

    tried: list[dict[str, Any]] = []

    def record(stage: str, p: ModelParams, scores: np.ndarray) -> float:
        m = compute_metrics(y, scores, best_f1_threshold(y, scores), kinds)
        score = _selection_score(m)
        hard = {k: v["accuracy"] for k, v in m.get("kinds", {}).items() if k in HARD_KINDS}
        tried.append(
            {
                "stage": stage,
                "params": p.describe(),
                "selection_score": round(score, 4),
                "roc_auc": m["roc_auc"],
                "macro_f1": m["macro_f1"],
                "hard_kinds": hard,
            }
        )
        say(f"[{len(tried):>2}] {stage:<9} {p.describe():<58} score {score:.4f}  AUC {m['roc_auc']:.4f}")
        return score

    def evaluate(p: ModelParams, stage: str, with_sentences: bool = False) -> tuple[float, _CVResult]:
        result = _cross_validate(p, cache, sentence_cache if with_sentences else None, owners, y, cv, random_state)
        scores = _combine(
            result.whole, result.worst_sentence, counts, p.sentence_weight, p.sentence_gate, p.sentence_min
        )
        return record(stage, p, scores), result

    def pick(candidates: list[ModelParams], stage: str, known: tuple[float, _CVResult] | None = None):
        """Of candidates listed simplest first, the first whose score is within SIMPLER_WINS_WITHIN of the best."""
        scored = [known if known is not None and p == known[1].params else evaluate(p, stage) for p in candidates]
        top = max(score for score, _ in scored)
        return next(item for item in scored if item[0] >= top - SIMPLER_WINS_WITHIN)

    chosen = params or ModelParams()
    if search:
        best = pick([replace(chosen, word=w, char=c, C=4.0) for w, c in SEARCH_FEATURES], "features")
        base = best[1].params
        best = pick([replace(base, C=c) for c in SEARCH_C], "C", best)  # smaller C: more regularised, simpler
        base = best[1].params
        variants = [base, replace(base, normalizer="lower"), replace(base, sublinear_tf=not base.sublinear_tf)]
        best = pick(variants, "variants", best)
        chosen = best[1].params
    # The sentence rule: one more cross-validation that also scores every sentence of multi-sentence replies.
    _, final_cv = evaluate(replace(chosen, sentence_weight=0.0), "sentences", with_sentences=True)
    rules = SEARCH_SENTENCE_RULES if search else [(chosen.sentence_weight, chosen.sentence_gate, chosen.sentence_min)]
    scored_rules = []
    for weight, gate, minimum in rules:
        candidate = replace(chosen, sentence_weight=weight, sentence_gate=gate, sentence_min=minimum)
        scores = _combine(final_cv.whole, final_cv.worst_sentence, counts, weight, gate, minimum)
        scored_rules.append((record("sentences", candidate, scores), candidate))
    # "Helps or at least does not hurt": the strongest rule scoring within the tolerance of no rule at all.
    no_rule = [score for score, c in scored_rules if c.sentence_weight == 0.0]
    floor = max(no_rule) - SENTENCE_TOLERANCE if no_rule else -1.0  # without search: the rule given
    chosen = max(
        (c for score, c in scored_rules if score >= floor),
        key=lambda c: (c.sentence_weight, -c.sentence_gate, -c.sentence_min),
    )
    cv_scores = _combine(
        final_cv.whole,
        final_cv.worst_sentence,
        counts,
        chosen.sentence_weight,
        chosen.sentence_gate,
        chosen.sentence_min,
    )
    threshold = best_f1_threshold(y, cv_scores)
    cv_metrics = compute_metrics(y, cv_scores, threshold, kinds, [e.context for e in examples])
    say(f"chosen: {chosen.describe()}  threshold {threshold:.4f}")

    say("fitting the final model on all training rows")
    pipeline = build_pipeline(chosen, random_state).fit(texts, y)
    card: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "created": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "versions": _library_versions(),
        "data": [_data_entry(d, "train" if i == 0 else "extra-train") for i, d in enumerate(datasets)]
        + ([_data_entry(test, "test")] if test else []),
        "params": chosen.as_dict(),
        "threshold": round(threshold, 6),
        "selection": {
            "method": f"stratified {folds}-fold cross-validation on the training rows (random_state={random_state}); "
            "score = mean of macro F1 and mean accuracy over hard-case kinds, at the F1-best threshold; "
            f"sentence rule: the strongest whose score is within {SENTENCE_TOLERANCE} of no rule",
            "tried": tried,
        },
        "metrics": {"cross_validation": cv_metrics},
    }
    model = export_pipeline(pipeline, chosen, threshold, card)
    if test is not None:
        scorer = Scorer(model)
        test_y = test.y
        test_kinds = [e.kind for e in test.examples]
        test_contexts = [e.context for e in test.examples]
        card["metrics"]["test"] = compute_metrics(
            test_y, scorer.score_many(test.texts), threshold, test_kinds, test_contexts
        )
        # The same model without the sentence rule, at its own cross-validated threshold: shows what the rule adds.
        whole_threshold = best_f1_threshold(y, final_cv.whole)
        card["metrics"]["test_whole_reply_only"] = compute_metrics(
            test_y, scorer.probabilities(test.texts), whole_threshold, test_kinds
        )
    card["training_seconds"] = round(time.perf_counter() - started, 1)
    return TrainResult(model=model, card=card, pipeline=pipeline, test=test)


def check_writable(model_path: str | Path) -> None:
    """Raise OSError now, before minutes of training, if the model's folder cannot be written."""
    from griefguard.atomic import temporary_beside

    temporary_beside(Path(model_path)).unlink()


def save_outputs(result: TrainResult, model_path: str | Path) -> list[Path]:
    """Write the model, its card (JSON and Markdown) and pictures beside it, all or nothing.

    Every file is first written to a temporary file in the same folder; only when all are written are
    they renamed into place, so a failure leaves the previous model and card untouched.
    """
    import json
    import os
    import shutil
    import tempfile

    import joblib

    from griefguard.atomic import temporary_beside
    from griefguard.model_card import draw_pictures, render_markdown

    model_path = Path(model_path)
    folder = model_path.parent
    staged: list[tuple[Path, Path]] = []
    try:
        pictures: list[Path] = []
        test = result.test
        if test is not None:
            scorer = Scorer(result.model)
            picture_dir = Path(tempfile.mkdtemp(prefix=".pictures.", dir=folder))
            try:
                drawn = draw_pictures(test.y, scorer.score_many(test.texts), result.model["threshold"], picture_dir)
                for pic in drawn:
                    tmp = temporary_beside(folder / pic.name)
                    staged.append((tmp, folder / pic.name))
                    os.replace(pic, tmp)
                    pictures.append(folder / pic.name)
            finally:
                shutil.rmtree(picture_dir, ignore_errors=True)
        texts = {
            model_path.with_suffix(".json"): json.dumps(result.card, indent=2, ensure_ascii=False) + "\n",
            folder / "MODEL_CARD.md": render_markdown(result.card, [p.name for p in pictures]),
        }
        for target, text in texts.items():
            tmp = temporary_beside(target)
            staged.append((tmp, target))
            tmp.write_text(text, encoding="utf-8")
        tmp = temporary_beside(model_path)
        staged.append((tmp, model_path))
        joblib.dump(result.model, tmp)
        for tmp, target in staged:
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        return [target for _, target in staged]
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
