"""The model file: its schema, a writer for training and a loader that cannot run code.

A model file is one `.npz` archive (a zip of plain numpy arrays) holding everything the scorer needs:
- `meta`: UTF-8 JSON (as bytes) with the format, labels, normaliser, n-gram range, link function,
  threshold, sentence rule and the model card;
- `tokens`: the vocabulary's tokens, newline-separated UTF-8 (as bytes);
- `keys_1` ... `keys_N`: the sorted integer keys of the known n-grams of each length;
- with a character block, `char_grams` (newline-separated UTF-8, as bytes) and `char_idf`;
- `idf`, `coef` (features x labels: the word features, then the character ones) and `intercept` (labels):
  float64 arrays;
- with a thread stage (format 3, `thread.py`): its own reply vocabulary as `thread_tokens` and `thread_keys_1` ...
  `thread_keys_N` (as above) with `thread_idf`, `thread_parent_terms` and `thread_post_terms` (int64 feature indices
  of the first stage), and `thread_coef`, `thread_intercept` (float64).

Loading never unpickles: the archive's members are listed and size-checked first, then each array is read
with `allow_pickle=False`, which refuses any object array. A pickle (such as an old joblib model) is refused
before a byte of it is interpreted. Every way a file can be wrong becomes one ModelError line.
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

import numpy as np

from griefguard.engine import CharVocabulary, Vocabulary
from griefguard.errors import ModelError
from griefguard.labels import CRITICAL
from griefguard.sentences import SentenceRule
from griefguard.thread import ThreadLayout, ThreadStage

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "LINKS",
    "MODEL_ENV",
    "MODEL_NAME",
    "ModelData",
    "SentenceRule",
    "default_model_path",
    "load_model",
    "save_model",
]

FORMAT = "griefguard-model"
FORMAT_VERSION = 3  # 3 added the optional thread stage; files of format 2 (no thread stage) are read as they are
OLDEST_FORMAT_VERSION = 2
MODEL_ENV = "GRIEFGUARD_MODEL"
MODEL_NAME = "griefguard.npz"
LINKS = ("softmax", "ovr")  # multinomial logistic regression, or one-vs-rest with normalised probabilities
POSITIVE_LABEL = CRITICAL  # the label that is scored and flagged
MAX_UNPACKED_BYTES = 1 << 30  # refuse archives that would unpack to more than 1 GiB (zip bombs)


class ModelCard(TypedDict, total=False):
    """The model card stored in every model file (`models/griefguard.json` is the bundled one's): what the model
    was trained on, how it was chosen and how well it does. Written by training; read by `info`, the service and
    the model card's Markdown. Every key is optional to a reader (an older or hand-made model may lack any)."""

    format_version: int
    created: str  # ISO 8601, UTC
    versions: dict[str, str]  # python, griefguard, scikit-learn, numpy, scipy
    labels: list[str]
    data: list[dict[str, Any]]  # per file read: role, path, sha256, rows
    params: dict[str, Any]  # the chosen parameters (training.params.ModelParams)
    threshold: float
    selection: dict[str, Any]  # method, candidates tried, sentence rule, augmentation, thread stage
    metrics: dict[str, Any]  # cross_validation, tests (per named test set), real (per held-out source)
    shortcuts: dict[str, Any]  # terms leaning critical, and the benign phrase table
    training_seconds: float


_CARD_TYPES: dict[str, type | tuple[type, ...]] = {
    "format_version": int,
    "created": str,
    "versions": dict,
    "labels": list,
    "data": list,
    "params": dict,
    "threshold": (int, float),
    "selection": dict,
    "metrics": dict,
    "shortcuts": dict,
    "training_seconds": (int, float),
}


def check_card(card: object) -> ModelCard:
    """A model file's card, its known fields checked for type (ValueError naming the first that is wrong)."""
    if not isinstance(card, dict):
        raise ValueError("card is not an object")
    for key, kind in _CARD_TYPES.items():
        if key in card and (not isinstance(card[key], kind) or isinstance(card[key], bool)):
            raise ValueError(f"card field {key!r} has the wrong type")
    return card  # type: ignore[return-value]


@dataclass(frozen=True)
class ModelData:
    """Everything a model is, as plain values and arrays (the one schema training writes and scoring reads)."""

    labels: tuple[str, ...]
    vocabulary: Vocabulary
    idf: np.ndarray
    coef: np.ndarray  # (features, labels)
    intercept: np.ndarray  # (labels,)
    sublinear_tf: bool = True
    link: str = "softmax"
    threshold: float = 0.5
    sentence_rule: SentenceRule = field(default_factory=SentenceRule)
    card: ModelCard = field(default_factory=lambda: ModelCard())
    chars: CharVocabulary | None = None
    char_idf: np.ndarray | None = None
    thread: ThreadStage | None = None  # reads replies under their parent comment; None: replies are read alone

    @property
    def n_features(self) -> int:
        return self.vocabulary.n_features + (self.chars.n_features if self.chars is not None else 0)

    def __post_init__(self) -> None:
        n_features, n_labels = self.n_features, len(self.labels)
        if (self.chars is None) != (self.char_idf is None):
            raise ValueError("a character block needs both its n-grams and its idf")
        if self.chars is not None and self.char_idf is not None and self.char_idf.shape != (self.chars.n_features,):
            raise ValueError(f"char_idf has shape {self.char_idf.shape}, expected ({self.chars.n_features},)")
        if POSITIVE_LABEL not in self.labels or len(set(self.labels)) != n_labels or n_labels < 2:
            raise ValueError(f"labels must be distinct and include {POSITIVE_LABEL!r}, got {list(self.labels)}")
        if self.idf.shape != (self.vocabulary.n_features,):
            raise ValueError(f"idf has shape {self.idf.shape}, expected ({self.vocabulary.n_features},)")
        if self.coef.shape != (n_features, n_labels):
            raise ValueError(f"coef has shape {self.coef.shape}, expected ({n_features}, {n_labels})")
        if self.intercept.shape != (n_labels,):
            raise ValueError(f"intercept has shape {self.intercept.shape}, expected ({n_labels},)")
        if self.link not in LINKS:
            raise ValueError(f"unknown link {self.link!r}")
        arrays = [("idf", self.idf), ("coef", self.coef), ("intercept", self.intercept)]
        if self.char_idf is not None:
            arrays.append(("char_idf", self.char_idf))
        for name, values in arrays:
            if not np.isfinite(values).all():
                raise ValueError(f"{name} holds values that are not finite")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold {self.threshold} is not between 0 and 1")
        rule = self.sentence_rule
        if not (0.0 <= rule.weight <= 1.0 and 0.0 <= rule.gate <= 1.0 and rule.min_sentences >= 1):
            raise ValueError(f"bad sentence rule {rule}")
        if self.thread is not None:
            layout = self.thread.layout
            if layout.n_labels != n_labels:
                raise ValueError(f"the thread stage has {layout.n_labels} labels, the model {n_labels}")
            if layout.vocabulary.normalizer != self.vocabulary.normalizer:
                raise ValueError("the thread stage's vocabulary must use the model's normaliser")
            for name in ("parent_terms", "post_terms"):
                values = getattr(layout, name)
                if len(values) and values[-1] >= n_features:
                    raise ValueError(f"thread {name} name features beyond the model's {n_features}")

    def meta(self) -> dict[str, Any]:
        voc = self.vocabulary
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "labels": list(self.labels),
            "normalizer": voc.normalizer,
            "negation_scope": voc.negation_scope,
            "ngram_range": [voc.min_n, voc.max_n],
            "char_ngram_range": None if self.chars is None else [self.chars.min_n, self.chars.max_n],
            "sublinear_tf": self.sublinear_tf,
            "link": self.link,
            "threshold": self.threshold,
            "sentence_rule": {
                "weight": self.sentence_rule.weight,
                "gate": self.sentence_rule.gate,
                "min_sentences": self.sentence_rule.min_sentences,
            },
            "thread": None
            if self.thread is None
            else {"ngram_range": [self.thread.layout.vocabulary.min_n, self.thread.layout.vocabulary.max_n]},
            "card": self.card,
        }


def default_model_path() -> Path:
    """The model `load_scorer()` uses: $GRIEFGUARD_MODEL if set, else the one bundled with the package."""
    env = os.environ.get(MODEL_ENV)
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent
    installed = here / "model" / MODEL_NAME  # a wheel install carries models/ as griefguard/model/
    source = here.parents[1] / "models" / MODEL_NAME  # an editable install or a source checkout
    return installed if installed.exists() or not source.exists() else source


# -- writing -----------------------------------------------------------------------------------------------


def _bytes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


def _vocabulary_arrays(vocabulary: Vocabulary, prefix: str = "") -> dict[str, np.ndarray]:
    """A vocabulary as `{prefix}tokens` and `{prefix}keys_N` arrays (read back by `_vocabulary`)."""
    arrays = {f"{prefix}tokens": _bytes("\n".join(vocabulary.tokens))}
    for n, keys in zip(range(vocabulary.min_n, vocabulary.max_n + 1), vocabulary.keys, strict=True):
        arrays[f"{prefix}keys_{n}"] = np.ascontiguousarray(keys, dtype=np.int64)
    return arrays


def save_model(model: ModelData, path: str | Path) -> None:
    """Write a model file (training calls this on a temporary path and renames it into place)."""
    arrays: dict[str, np.ndarray] = {
        "meta": _bytes(json.dumps(model.meta(), ensure_ascii=False, sort_keys=True)),
        "idf": np.ascontiguousarray(model.idf, dtype=np.float64),
        "coef": np.ascontiguousarray(model.coef, dtype=np.float64),
        "intercept": np.ascontiguousarray(model.intercept, dtype=np.float64),
    }
    arrays.update(_vocabulary_arrays(model.vocabulary))
    if model.chars is not None and model.char_idf is not None:
        arrays["char_grams"] = _bytes("\n".join(model.chars.grams))
        arrays["char_idf"] = np.ascontiguousarray(model.char_idf, dtype=np.float64)
    if model.thread is not None:
        layout = model.thread.layout
        arrays.update(_vocabulary_arrays(layout.vocabulary, prefix="thread_"))
        arrays["thread_idf"] = np.ascontiguousarray(layout.idf, dtype=np.float64)
        arrays["thread_parent_terms"] = np.ascontiguousarray(layout.parent_terms, dtype=np.int64)
        arrays["thread_post_terms"] = np.ascontiguousarray(layout.post_terms, dtype=np.int64)
        arrays["thread_coef"] = np.ascontiguousarray(model.thread.coef, dtype=np.float64)
        arrays["thread_intercept"] = np.ascontiguousarray(model.thread.intercept, dtype=np.float64)
    with open(path, "wb") as handle:
        np.savez_compressed(handle, **arrays)


# -- reading -----------------------------------------------------------------------------------------------

_PICKLE_STARTS = (b"\x80", b"(", b"}", b"]", b"c")  # pickle protocols 0-5 and joblib's plain pickles


def _check_archive(path: Path) -> list[str]:
    """The archive's member names, after checking it is a zip of .npy members of a sane size."""
    with open(path, "rb") as handle:
        head = handle.read(4)
    if not head.startswith(b"PK"):
        if head[:1] in _PICKLE_STARTS or head.startswith(b"\x1f\x8b") or head.startswith(b"ZF"):
            raise ModelError(
                f"model file {path} is a pickle or joblib file (an old griefguard model, or not one at all); "
                "griefguard never unpickles model files: retrain with `griefguard train`"
            )
        raise ModelError(f"{path} is not a griefguard model file (expected a .npz archive)")
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile:
        raise ModelError(f"model file {path} is corrupt or truncated (not a readable zip archive)") from None
    if sum(i.file_size for i in infos) > MAX_UNPACKED_BYTES:
        raise ModelError(f"model file {path} would unpack to more than {MAX_UNPACKED_BYTES >> 20} MiB; refused")
    names = [i.filename for i in infos]
    if not all(n.endswith(".npy") and "/" not in n for n in names):
        raise ModelError(f"{path} is not a griefguard model file (unexpected members in the archive)")
    return [n[: -len(".npy")] for n in names]


def _meta(path: Path, raw: np.ndarray) -> dict[str, Any]:
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ModelError(f"model file {path} is damaged (its metadata is not JSON)") from None
    except RecursionError:  # a header nested thousands deep: refused, never a traceback
        raise ModelError(f"model file {path} is damaged (its metadata is nested too deeply)") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelError(f"{path} is not a griefguard model file")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelError(
            f"model file {path} has format version {version}, newer than this griefguard reads "
            f"({FORMAT_VERSION}); upgrade griefguard"
        )
    if version < OLDEST_FORMAT_VERSION:
        raise ModelError(f"model file {path} has the old format version {version}; retrain with `griefguard train`")
    return meta


def _vocabulary(meta: dict[str, Any], arrays: dict[str, np.ndarray], ngram_range: Any, prefix: str = "") -> Vocabulary:
    """A vocabulary stored as `{prefix}tokens` and `{prefix}keys_N`, with the model's normaliser."""
    min_n, max_n = (int(n) for n in ngram_range)
    if not 1 <= min_n <= max_n <= 8:
        raise ValueError(f"bad {prefix}n-gram range {ngram_range}")
    text = arrays[f"{prefix}tokens"].tobytes().decode("utf-8")
    return Vocabulary(
        normalizer=str(meta["normalizer"]),
        min_n=min_n,
        max_n=max_n,
        tokens=text.split("\n") if text else [],
        keys=[arrays[f"{prefix}keys_{n}"] for n in range(min_n, max_n + 1)],
        negation_scope=int(meta["negation_scope"]),
    )


def _model(path: Path, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> ModelData:
    vocabulary = _vocabulary(meta, arrays, meta["ngram_range"])
    rule = meta["sentence_rule"]
    threshold = float(meta["threshold"])
    if math.isnan(threshold):
        raise ValueError("threshold is not a number")
    card = check_card(meta["card"])
    chars = char_idf = None
    if meta.get("char_ngram_range"):
        low, high = (int(n) for n in meta["char_ngram_range"])
        grams = arrays["char_grams"].tobytes().decode("utf-8")
        chars = CharVocabulary(low, high, grams.split("\n") if grams else [])
        char_idf = arrays["char_idf"]
    thread = None
    if meta.get("thread"):
        thread_vocabulary = _vocabulary(meta, arrays, meta["thread"]["ngram_range"], prefix="thread_")
        layout = ThreadLayout(
            n_labels=len(meta["labels"]),
            vocabulary=thread_vocabulary,
            idf=arrays["thread_idf"],
            parent_terms=arrays["thread_parent_terms"],
            post_terms=arrays["thread_post_terms"],
        )
        thread = ThreadStage(layout, arrays["thread_coef"], arrays["thread_intercept"])
    return ModelData(
        labels=tuple(str(x) for x in meta["labels"]),
        vocabulary=vocabulary,
        idf=arrays["idf"],
        coef=arrays["coef"],
        intercept=arrays["intercept"],
        sublinear_tf=bool(meta["sublinear_tf"]),
        link=str(meta["link"]),
        threshold=threshold,
        sentence_rule=SentenceRule(float(rule["weight"]), float(rule["gate"]), int(rule["min_sentences"])),
        card=card,
        chars=chars,
        char_idf=char_idf,
        thread=thread,
    )


_DTYPES = {
    "meta": np.uint8,
    "tokens": np.uint8,
    "char_grams": np.uint8,
    "idf": np.float64,
    "char_idf": np.float64,
    "coef": np.float64,
    "intercept": np.float64,
    "thread_tokens": np.uint8,
    "thread_idf": np.float64,
    "thread_coef": np.float64,
    "thread_intercept": np.float64,
}


def load_model(path: str | Path) -> ModelData:
    """Read and check a model file without running any code from it; raise ModelError naming the problem."""
    path = Path(path)
    if not path.exists() and os.environ.get(MODEL_ENV) and Path(os.environ[MODEL_ENV]) == path:
        raise ModelError(
            f"${MODEL_ENV} names the model file {path}, which does not exist; point it at a model file or unset it "
            "to use the bundled model"
        )
    if not path.exists():
        raise ModelError(
            f"model file {path} does not exist; pass --model PATH or set ${MODEL_ENV} to a model file "
            "(`griefguard train` makes one)"
        )
    if path.is_dir():
        raise ModelError(f"model path {path} is a directory, expected a {MODEL_NAME} file")
    try:
        names = _check_archive(path)
        missing = [n for n in ("meta", "tokens", "idf", "coef", "intercept") if n not in names]
        if missing:
            raise ModelError(f"model file {path} is incomplete (missing {', '.join(missing)})")
        arrays: dict[str, np.ndarray] = {}
        with np.load(path, allow_pickle=False) as archive:
            for name in names:
                arrays[name] = archive[name]
        for name, array in arrays.items():
            expected = _DTYPES.get(name, np.int64)
            if array.dtype != expected:
                raise ModelError(f"model file {path} is damaged ({name} has type {array.dtype}, expected {expected})")
        meta = _meta(path, arrays["meta"])
        return _model(path, meta, arrays)
    except ModelError:
        raise
    except PermissionError:
        raise ModelError(f"model file {path}: permission denied") from None
    except MemoryError:
        raise ModelError(f"model file {path} is too large to load") from None
    except (KeyError, TypeError, ValueError, UnicodeDecodeError) as exc:
        # ValueError is also what numpy raises for an object array under allow_pickle=False.
        raise ModelError(f"model file {path} is damaged ({exc})") from None
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise ModelError(f"model file {path} is corrupt or truncated ({type(exc).__name__})") from None
