"""Training: data, model selection by cross-validation, the final fit, evaluation and the saved outputs.

Imports scikit-learn and scipy (the `train` extra); nothing on the scoring path imports this package.
"""

from griefguard.training.data import Corpus, load_corpus
from griefguard.training.params import ModelParams, TfidfEngine, build_pipeline
from griefguard.training.run import TrainResult, export_model, fit_model, train
from griefguard.training.save import save_outputs

__all__ = [
    "Corpus",
    "ModelParams",
    "TfidfEngine",
    "TrainResult",
    "build_pipeline",
    "export_model",
    "fit_model",
    "load_corpus",
    "save_outputs",
    "train",
]
