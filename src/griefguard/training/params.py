"""What defines a model besides its data, and the scikit-learn pieces built from it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from griefguard.engine import FeatureEngine, Rows, fit_vocabulary
from griefguard.model_file import SentenceRule
from griefguard.normalize import tokenize

__all__ = ["ModelParams", "TfidfEngine", "build_pipeline", "fit_classifier"]


@dataclass(frozen=True)
class ModelParams:
    """Features, classifier and sentence rule. `real_weight` is the sample weight of real comments."""

    ngram_range: tuple[int, int] = (1, 3)
    normalizer: str = "full"
    negation_scope: int = 0
    sublinear_tf: bool = True
    min_df: int = 2
    C: float = 16.0
    link: str = "softmax"
    real_weight: float = 0.5
    sentence_rule: SentenceRule = field(default_factory=SentenceRule)

    def describe(self) -> str:
        rule = self.sentence_rule
        sentences = f"sent={rule.weight:g}@{rule.gate:g}/{rule.min_sentences}" if rule.active else "sent=0"
        neg = f"+neg{self.negation_scope}" if self.negation_scope else ""
        tf = "sublinear" if self.sublinear_tf else "raw-tf"
        return (
            f"word{self.ngram_range[0]}-{self.ngram_range[1]} {self.link} C={self.C:g} "
            f"norm={self.normalizer}{neg} {tf} real={self.real_weight:g} {sentences}"
        )

    def feature_key(self) -> tuple[Any, ...]:
        """What the TF-IDF features depend on (candidates that share it share features)."""
        return (self.ngram_range, self.normalizer, self.negation_scope, self.sublinear_tf, self.min_df)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ngram_range"] = list(self.ngram_range)
        return out

    @classmethod
    def from_dict(cls, params: dict[str, Any]) -> ModelParams:
        """The parameters recorded in a model card (`as_dict`), to refit the same model."""
        rule = params.get("sentence_rule") or {}
        return cls(
            ngram_range=tuple(params["ngram_range"]),  # type: ignore[arg-type]
            normalizer=params["normalizer"],
            negation_scope=int(params["negation_scope"]),
            sublinear_tf=bool(params["sublinear_tf"]),
            min_df=int(params["min_df"]),
            C=float(params["C"]),
            link=params["link"],
            real_weight=float(params["real_weight"]),
            sentence_rule=SentenceRule(**rule) if rule else SentenceRule(),
        )


class TfidfEngine(TransformerMixin, BaseEstimator):
    """The feature engine as a scikit-learn transformer: texts -> TF-IDF word n-grams (CSR matrix).

    Fitting builds the vocabulary and IDF weights with `engine.fit_vocabulary`; transforming runs the same
    `FeatureEngine` the scorer runs, so training and scoring see identical features.
    """

    def __init__(
        self,
        ngram_range: tuple[int, int] = (1, 3),
        normalizer: str = "full",
        negation_scope: int = 0,
        sublinear_tf: bool = True,
        min_df: int = 2,
    ) -> None:
        self.ngram_range = ngram_range
        self.normalizer = normalizer
        self.negation_scope = negation_scope
        self.sublinear_tf = sublinear_tf
        self.min_df = min_df

    def fit(self, X: list[str], y: Any = None) -> TfidfEngine:
        tokens = tokenize(list(X), self.normalizer, self.negation_scope)
        vocabulary, idf = fit_vocabulary(
            tokens, self.normalizer, tuple(self.ngram_range), self.min_df, self.negation_scope
        )
        if vocabulary.n_features == 0:
            raise ValueError("no n-gram occurs in at least min_df replies; nothing to learn from")
        self.engine_ = FeatureEngine(vocabulary, idf, self.sublinear_tf)
        return self

    def transform(self, X: list[str]):  # type: ignore[no-untyped-def]
        return self.engine_.transform(list(X)).to_scipy()

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(self.engine_.vocabulary.feature_names(), dtype=object)


class OneVsRest:
    """One binary logistic regression per label; probabilities are the sigmoids normalised to sum to 1 (as
    scikit-learn's OneVsRestClassifier). Coefficients are laid out like a multinomial model's."""

    def __init__(self, C: float, random_state: int = 0) -> None:
        self.C = C
        self.random_state = random_state

    def fit(self, X, y: np.ndarray, sample_weight: np.ndarray | None = None) -> OneVsRest:  # type: ignore[no-untyped-def]
        self.classes_ = np.unique(y)
        models = [
            LogisticRegression(C=self.C, solver="liblinear", max_iter=1000, random_state=self.random_state).fit(
                X, (y == c).astype(int), sample_weight=sample_weight
            )
            for c in self.classes_
        ]
        self.coef_ = np.vstack([m.coef_[0] for m in models])
        self.intercept_ = np.array([m.intercept_[0] for m in models])
        return self

    def predict_proba(self, X) -> np.ndarray:  # type: ignore[no-untyped-def]
        p = 1.0 / (1.0 + np.exp(-(X @ self.coef_.T + self.intercept_)))
        return p / p.sum(axis=1, keepdims=True)


def fit_classifier(params: ModelParams, X, y: np.ndarray, weight: np.ndarray | None, random_state: int = 0):  # type: ignore[no-untyped-def]
    """The logistic regression for `params`, fitted; `y` holds label indices."""
    if params.link == "ovr" and len(np.unique(y)) > 2:
        return OneVsRest(params.C, random_state).fit(X, y, sample_weight=weight)
    model = LogisticRegression(C=params.C, solver="lbfgs", max_iter=3000, random_state=random_state)
    return model.fit(X, y, sample_weight=weight)


def build_pipeline(params: ModelParams, random_state: int = 0) -> Pipeline:
    """The scikit-learn pipeline for `params`: the TF-IDF engine feeding a (multinomial) logistic regression."""
    features = TfidfEngine(
        params.ngram_range, params.normalizer, params.negation_scope, params.sublinear_tf, params.min_df
    )
    classifier = LogisticRegression(C=params.C, solver="lbfgs", max_iter=3000, random_state=random_state)
    return Pipeline([("features", features), ("classifier", classifier)])


def rows_to_scipy(rows: Rows):  # type: ignore[no-untyped-def]
    return rows.to_scipy()
