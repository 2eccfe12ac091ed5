"""What defines a model besides its data, and the scikit-learn pieces built from it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from griefguard.engine import FeatureEngine
from griefguard.normalize import Tokens, tokenize
from griefguard.sentences import SentenceRule
from griefguard.vocabulary_fit import fit_char_vocabulary, fit_vocabulary

__all__ = ["ModelParams", "TfidfEngine", "build_pipeline", "fit_classifier", "fit_engine"]


@dataclass(frozen=True)
class ModelParams:
    """Features, classifier and sentence rule. `real_weight` is the sample weight of real comments."""

    ngram_range: tuple[int, int] = (1, 3)
    char_range: tuple[int, int] | None = None  # character n-grams inside tokens, or None for none
    normalizer: str = "full"
    negation_scope: int = 0
    sublinear_tf: bool = True
    min_df: int = 2
    C: float = 16.0
    link: str = "softmax"
    real_weight: float = 0.5
    sentence_rule: SentenceRule = field(default_factory=SentenceRule)
    augment: bool = False  # also train on derived rows (`augment.derived_rows`)

    def describe(self) -> str:
        rule = self.sentence_rule
        sentences = f"sent={rule.weight:g}@{rule.gate:g}/{rule.min_sentences}" if rule.active else "sent=0"
        neg = f"+neg{self.negation_scope}" if self.negation_scope else ""
        tf = "sublinear" if self.sublinear_tf else "raw-tf"
        chars = f"+char{self.char_range[0]}-{self.char_range[1]}" if self.char_range else ""
        augment = " +derived" if self.augment else ""
        return (
            f"word{self.ngram_range[0]}-{self.ngram_range[1]}{chars} {self.link} C={self.C:g} "
            f"norm={self.normalizer}{neg} {tf} real={self.real_weight:g} {sentences}{augment}"
        )

    def feature_key(self) -> tuple[Any, ...]:
        """What the TF-IDF features depend on (candidates that share it share features)."""
        return (
            self.ngram_range,
            self.char_range,
            self.normalizer,
            self.negation_scope,
            self.sublinear_tf,
            self.min_df,
            self.augment,
        )

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ngram_range"] = list(self.ngram_range)
        out["char_range"] = list(self.char_range) if self.char_range else None
        return out

    @classmethod
    def from_dict(cls, params: dict[str, Any]) -> ModelParams:
        """The parameters recorded in a model card (`as_dict`), to refit the same model."""
        rule = params.get("sentence_rule") or {}
        return cls(
            ngram_range=tuple(params["ngram_range"]),  # type: ignore[arg-type]
            char_range=tuple(params["char_range"]) if params.get("char_range") else None,  # type: ignore[arg-type]
            normalizer=params["normalizer"],
            negation_scope=int(params["negation_scope"]),
            sublinear_tf=bool(params["sublinear_tf"]),
            min_df=int(params["min_df"]),
            C=float(params["C"]),
            link=params["link"],
            real_weight=float(params["real_weight"]),
            sentence_rule=SentenceRule(**rule) if rule else SentenceRule(),
            augment=bool(params.get("augment", False)),
        )


class TfidfEngine(TransformerMixin, BaseEstimator):
    """The feature engine as a scikit-learn transformer: texts -> TF-IDF word (and optionally character)
    n-grams, as a CSR matrix.

    Fitting builds the vocabularies and IDF weights with `engine.fit_vocabulary`; transforming runs the same
    `FeatureEngine` the scorer runs, so training and scoring see identical features.
    """

    def __init__(
        self,
        ngram_range: tuple[int, int] = (1, 3),
        char_range: tuple[int, int] | None = None,
        normalizer: str = "full",
        negation_scope: int = 0,
        sublinear_tf: bool = True,
        min_df: int = 2,
    ) -> None:
        self.ngram_range = ngram_range
        self.char_range = char_range
        self.normalizer = normalizer
        self.negation_scope = negation_scope
        self.sublinear_tf = sublinear_tf
        self.min_df = min_df

    def fit(self, X: list[str], y: Any = None) -> TfidfEngine:
        params = ModelParams(
            ngram_range=tuple(self.ngram_range),  # type: ignore[arg-type]
            char_range=None if self.char_range is None else tuple(self.char_range),  # type: ignore[arg-type]
            normalizer=self.normalizer,
            negation_scope=self.negation_scope,
            sublinear_tf=self.sublinear_tf,
            min_df=self.min_df,
        )
        self.engine_ = fit_engine(params, tokenize(list(X), self.normalizer, self.negation_scope))
        if self.engine_.n_features == 0:
            raise ValueError("no n-gram occurs in at least min_df replies; nothing to learn from")
        return self

    def transform(self, X: list[str]):  # type: ignore[no-untyped-def]
        return self.engine_.transform(list(X)).to_scipy()

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        names = self.engine_.vocabulary.feature_names()
        if self.engine_.chars is not None:
            names += [f"char:{g}" for g in self.engine_.chars.grams]
        return np.asarray(names, dtype=object)


def fit_engine(params: ModelParams, tokens: Tokens, docs: np.ndarray | None = None) -> FeatureEngine:
    """The feature engine for `params`, fitted on tokenised replies (all of them, or a fold's `docs`)."""
    vocabulary, idf = fit_vocabulary(
        tokens, params.normalizer, params.ngram_range, params.min_df, params.negation_scope, docs
    )
    chars = char_idf = None
    if params.char_range is not None:
        chars, char_idf = fit_char_vocabulary(tokens, params.normalizer, params.char_range, params.min_df, docs)
    return FeatureEngine(vocabulary, idf, params.sublinear_tf, chars, char_idf)


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
        ngram_range=params.ngram_range,
        char_range=params.char_range,
        normalizer=params.normalizer,
        negation_scope=params.negation_scope,
        sublinear_tf=params.sublinear_tf,
        min_df=params.min_df,
    )
    classifier = LogisticRegression(C=params.C, solver="lbfgs", max_iter=3000, random_state=random_state)
    return Pipeline([("features", features), ("classifier", classifier)])
