"""Record what retraining on the redistributable data alone gives, for the test that runs where the three rebuilt
real-comment files are absent (a fresh clone, CI).

    python scripts/shipped_reference.py     # writes models/shipped_reference.json

It refits with the bundled model's parameters (no search) on data/ without data/real/{counsel_chat, davidson,
tweeteval}.csv and records the data's SHA-256, the threshold, the vocabulary size and every figure of the card.
Run it again whenever data/ or the bundled model changes; a test says when it is stale.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from griefguard.training import ModelParams, load_corpus, train  # noqa: E402
from griefguard.training.data import NOT_REDISTRIBUTED  # noqa: E402
from griefguard.training.thread import ThreadParams  # noqa: E402

REFERENCE = ROOT / "models" / "shipped_reference.json"


def reference_run() -> dict:
    card = json.loads((ROOT / "models" / "griefguard.json").read_text())
    params = ModelParams.from_dict(card["params"])
    thread = ThreadParams.from_dict(card["selection"]["thread"]["params"])
    corpus = load_corpus(ROOT / "data", skip_real=NOT_REDISTRIBUTED)
    result = train(corpus, search=False, params=params, thread_params=thread)
    return {
        "model_created": card["created"],
        "data": {d.path.relative_to(ROOT).as_posix(): d.sha256 for _, d in corpus.files()},
        "threshold": result.model.threshold,
        "n_features": result.model.vocabulary.n_features,
        "metrics": {"tests": result.card["metrics"]["tests"], "real": result.card["metrics"]["real"]},
    }


if __name__ == "__main__":
    REFERENCE.write_text(json.dumps(reference_run(), indent=2) + "\n", encoding="utf-8")
    print(REFERENCE)
