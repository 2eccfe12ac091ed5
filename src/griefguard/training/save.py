"""Write a trained model with its card (JSON and Markdown) and pictures, all or nothing."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from griefguard.atomic import temporary_beside
from griefguard.model_file import save_model
from griefguard.training.card import draw_pictures, render_markdown
from griefguard.training.run import TrainResult

__all__ = ["save_outputs"]


def save_outputs(result: TrainResult, model_path: str | Path) -> list[Path]:
    """Write the model, its card (JSON and Markdown) and pictures beside it; return the paths written.

    Every file is first written to a temporary file in the same folder; only when all are written are they
    renamed into place, so a failure leaves the previous model and card untouched.
    """
    model_path = Path(model_path)
    folder = model_path.parent
    folder.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[Path, Path]] = []
    try:
        pictures: list[Path] = []
        test = result.corpus.tests.get("test")
        if test is not None:
            picture_dir = Path(tempfile.mkdtemp(prefix=".pictures.", dir=folder))
            try:
                probabilities = result.test_probabilities.get("test")
                for pic in draw_pictures(result.model, test, picture_dir, probabilities):
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
        save_model(result.model, tmp)
        for tmp, target in staged:
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        return [target for _, target in staged]
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
