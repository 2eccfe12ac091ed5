"""Render a model card (the JSON written by training) as Markdown, and draw its pictures when matplotlib is installed.

Training-only: the CLI's `info` command prints from the card dict directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from griefguard.metrics import metrics_table

__all__ = ["draw_pictures", "render_markdown"]


def _table(rows: Sequence[Sequence[Any]]) -> list[str]:
    head, *body = rows
    lines = ["| " + " | ".join(map(str, head)) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(map(str, r)) + " |" for r in body]
    return lines


def render_markdown(card: dict[str, Any], pictures: Sequence[str] = ()) -> str:
    """The card as a short Markdown page: data, chosen parameters, metrics, what model selection tried."""
    metrics = card["metrics"]
    named = {"cross-validation": metrics["cross_validation"]}
    if "test" in metrics:
        named["test"] = metrics["test"]
    if "test_whole_reply_only" in metrics:
        named["test, whole reply only"] = metrics["test_whole_reply_only"]
    p = card["params"]
    out = [
        "# griefguard model card",
        "",
        f"Created {card['created']} in {card['training_seconds']} s by `python train.py` "
        f"(model format {card['format_version']}).",
        "",
        "A logistic regression over L2-normalised TF-IDF features of the normalised reply "
        f"(word n-grams {p['word_ngrams']}, character n-grams {p['char_ngrams']}, normaliser `{p['normalizer']}`, "
        f"sublinear TF {p['sublinear_tf']}, min_df {p['min_df']}, C {p['C']}). "
        f"A reply is flagged as critical when its score is at least **{card['threshold']:.4f}**, the threshold "
        "that maximised F1 for `critical` on cross-validated predictions. "
        f"Sentence rule: in a reply of at least {p['sentence_min']} sentences, a sentence scoring at least "
        f"{p['sentence_gate']} raises "
        f"the reply's score {p['sentence_weight']} of the way towards its own, so condolences cannot dilute one "
        "clearly critical sentence.",
        "",
        "## Data",
        "",
        *_table(
            [
                ("role", "file", "rows", "sha256"),
                *[(d["role"], d["path"], d["rows"], d["sha256"][:16] + "…") for d in card["data"]],
            ]
        ),
        "",
        "## Metrics",
        "",
        "`test, whole reply only` is the same model without the sentence rule, at its own cross-validated threshold.",
        "",
        *_table(metrics_table(named)),
        "",
    ]
    if "test" in metrics and "contexts" in metrics["test"]:
        out += ["## Test accuracy per grief context", ""]
        out += _table(
            [
                ("context", "accuracy", "n"),
                *[(k, f"{v['accuracy']:.3f}", v["n"]) for k, v in metrics["test"]["contexts"].items()],
            ]
        )
        out.append("")
    out += ["## What model selection tried", "", card["selection"]["method"] + ".", ""]
    kinds = sorted({k for t in card["selection"]["tried"] for k in t["hard_kinds"]})
    out += _table(
        [
            ("stage", "parameters", "selection score", "ROC AUC", "macro F1", *kinds),
            *[
                (
                    t["stage"],
                    t["params"],
                    f"{t['selection_score']:.4f}",
                    f"{t['roc_auc']:.4f}",
                    f"{t['macro_f1']:.4f}",
                    *[f"{t['hard_kinds'].get(k, 0):.3f}" for k in kinds],
                )
                for t in card["selection"]["tried"]
            ],
        ]
    )
    out += ["", "## Library versions", "", ", ".join(f"{k} {v}" for k, v in card["versions"].items()), ""]
    for pic in pictures:
        out += [f"![{Path(pic).stem}]({Path(pic).name})", ""]
    return "\n".join(out)


def draw_pictures(y: Sequence[int], scores: Sequence[float], threshold: float, directory: Path) -> list[Path]:
    """A precision-recall curve and a confusion matrix of the test scores as PNG files; [] without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    import numpy as np
    from sklearn.metrics import confusion_matrix, precision_recall_curve

    y_arr, s_arr = np.asarray(y), np.asarray(scores)
    precision, recall, _ = precision_recall_curve(y_arr, s_arr)
    pred = s_arr >= threshold
    tp, fp = int((pred & (y_arr == 1)).sum()), int((pred & (y_arr == 0)).sum())
    fig, ax = plt.subplots(figsize=(4.5, 4))
    ax.plot(recall, precision)
    ax.scatter([tp / max(1, int(y_arr.sum()))], [tp / max(1, tp + fp)], color="red", zorder=3, label="threshold")
    ax.set(
        xlabel="recall (critical)",
        ylabel="precision (critical)",
        title="Precision-recall on the test file",
        xlim=(0, 1.02),
        ylim=(0, 1.02),
    )
    ax.legend(loc="lower left")
    fig.tight_layout()
    pr_path = directory / "precision_recall.png"
    fig.savefig(pr_path, dpi=100, metadata={"Software": None})
    plt.close(fig)

    cm = confusion_matrix(y_arr, pred.astype(int), labels=[0, 1])
    fig, ax = plt.subplots(figsize=(4, 3.6))
    ax.imshow(cm, cmap="Blues")
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, str(v), ha="center", va="center", color="white" if v > cm.max() / 2 else "black")
    ax.set(
        xticks=[0, 1],
        yticks=[0, 1],
        xticklabels=["supportive", "critical"],
        yticklabels=["supportive", "critical"],
        xlabel="predicted",
        ylabel="true label",
        title="Confusion matrix (test)",
    )
    fig.tight_layout()
    cm_path = directory / "confusion_matrix.png"
    fig.savefig(cm_path, dpi=100, metadata={"Software": None})
    plt.close(fig)
    return [pr_path, cm_path]
