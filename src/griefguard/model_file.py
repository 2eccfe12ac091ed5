"""Read griefguard model files: plain arrays in a joblib file, checked on load (training writes them).

A model file holds everything the scorer needs as plain data (vocabularies, IDF weights, coefficients,
normaliser settings, threshold) so that scoring never imports scikit-learn. Loading checks the format
and turns every way a file can be wrong into one ModelError line.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from griefguard.errors import ModelError

__all__ = ["FORMAT", "FORMAT_VERSION", "default_model_path", "load_model_data"]

FORMAT = "griefguard-model"
FORMAT_VERSION = 1
MODEL_ENV = "GRIEFGUARD_MODEL"
MODEL_NAME = "griefguard.joblib"
_REQUIRED = (
    "format",
    "format_version",
    "blocks",
    "intercept",
    "threshold",
    "sentence_weight",
    "sentence_gate",
    "sentence_min",
    "card",
)


def default_model_path() -> Path:
    """The model `load_scorer()` uses: $GRIEFGUARD_MODEL if set, else the one bundled with the package."""
    env = os.environ.get(MODEL_ENV)
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent
    installed = here / "model" / MODEL_NAME  # a wheel install carries models/ as griefguard/model/
    source = here.parents[1] / "models" / MODEL_NAME  # an editable install or a source checkout
    return installed if installed.exists() or not source.exists() else source


def load_model_data(path: str | Path) -> dict[str, Any]:
    """Load and check a model file; raise ModelError naming the file and the problem."""
    import joblib  # imported here so that `import griefguard` stays free of it

    path = Path(path)
    if not path.exists():
        raise ModelError(f"model file {path} does not exist (train one with `python train.py`)")
    if path.is_dir():
        raise ModelError(f"model path {path} is a directory, expected a .joblib file")
    try:
        data = joblib.load(path)
    except MemoryError:
        raise ModelError(f"model file {path} is too large to load") from None
    except Exception as exc:  # joblib/pickle raise many types for truncated or foreign files
        raise ModelError(f"model file {path} is corrupt or truncated ({type(exc).__name__})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ModelError(f"{path} is not a griefguard model file")
    version = data.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelError(
            f"model file {path} has format version {version}, newer than this griefguard reads "
            f"({FORMAT_VERSION}); upgrade griefguard"
        )
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise ModelError(f"model file {path} is incomplete (missing {', '.join(missing)})")
    return data
