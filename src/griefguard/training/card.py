"""Render a model card (the JSON written by training) as Markdown, and draw its pictures when matplotlib is
installed. `griefguard info` prints from the same card dict."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from griefguard.dataset import LabeledData
from griefguard.labels import CRITICAL, LABELS
from griefguard.metrics import metrics_table, percent, real_table
from griefguard.model_file import ModelData

__all__ = ["draw_pictures", "render_markdown", "summary_table"]


def _table(rows: Sequence[Sequence[Any]]) -> list[str]:
    head, *body = rows
    lines = ["| " + " | ".join(map(str, head)) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(map(str, r)) + " |" for r in body]
    return lines


def summary_table(card: dict[str, Any]) -> list[tuple[str, ...]]:
    """The headline figures in one table: test file, realistic set, dilution set and each real source."""
    tests = card["metrics"].get("tests", {})
    rows: list[tuple[str, ...]] = [("set", "replies", "figure", "value")]

    def f(v: Any) -> str:
        return "-" if v is None else f"{v:.3f}"

    if "test" in tests:
        t = tests["test"]
        worst = min(t.get("kinds", {}).items(), key=lambda kv: kv[1]["accuracy"], default=(None, None))
        rows.append(("test", str(t["n"]), "ROC AUC / flag macro F1", f"{f(t['roc_auc'])} / {f(t['flag_macro_f1'])}"))
        if worst[0] is not None:
            rows.append(("test", "", "lowest kind accuracy", f"{worst[0]} {worst[1]['accuracy']:.3f}"))
    for name, t in tests.items():
        if name in ("test", "test, without the sentence rule"):
            continue
        rows.append(
            (
                name,
                str(t["n"]),
                "ROC AUC / flag accuracy / label accuracy",
                f"{f(t['roc_auc'])} / {f(t['flag_accuracy'])} / {f(t['label']['accuracy'])}",
            )
        )
        if t.get("harmless_flagged") is not None:
            rows.append((name, "", "everything not critical flagged", percent(t["harmless_flagged"])))
        for label, share in t.get("flagged_by_label", {}).items():
            if label != CRITICAL:
                rows.append((name, "", f"{label} flagged", percent(share)))
        rows.append((name, "", "critical flagged (recall)", percent(t["flagged_by_label"].get(CRITICAL))))
    for name, r in card["metrics"].get("real", {}).items():
        for key, label in (("neutral", "neutral flagged"), ("empathic", "empathic flagged")):
            if f"{key}_flagged" in r:
                rows.append((f"real: {name}", str(r[f"{key}_n"]), label, percent(r[f"{key}_flagged"])))
        if r.get("hostile_auc") is not None:
            rows.append((f"real: {name}", str(r["hostile_n"]), "hostile vs benign ROC AUC", f(r["hostile_auc"])))
    return rows


def shortcut_table(card: dict[str, Any]) -> list[tuple[str, ...]]:
    """The shortcut report as a table: the terms that lean most toward critical, with the training rows that hold
    each per label and their largest sources, then every phrase of the phrase table that leans critical."""
    shortcuts = card.get("shortcuts") or {}
    rows: list[tuple[str, ...]] = [("term (weight toward critical)", "rows: crit / supp / neut", "largest sources")]
    for t in shortcuts.get("terms", []):
        counts = t["labels"]
        per_label = " / ".join(str(counts.get(lab, 0)) for lab in LABELS)
        sources = ", ".join(
            f"{Path(k).parent.name or k}: {v}" if "/" in k else f"{k}: {v}" for k, v in list(t["sources"].items())[:3]
        )
        rows.append((f"{t['term']} ({t['weight']:+.2f})", per_label, sources))
    leaning = [p for p in shortcuts.get("phrases", []) if p["leans_critical"]]
    total = len(shortcuts.get("phrases", []))
    rows.append(
        (
            "benign phrases above half the threshold",
            f"{len(leaning)} of {total}",
            ", ".join(p["phrase"] for p in leaning),
        )
    )
    return rows


def _kind_sections(tests: dict[str, Any]) -> list[str]:
    """Per test set with kinds: the share of each kind (and label) that is flagged."""
    out: list[str] = []
    for name, t in tests.items():
        by_kind = t.get("flagged_by_kind")
        if not by_kind or name == "test":
            continue
        out += [f"## Flagged per kind: {name}", ""]
        out += _table(
            [("kind (label)", "replies", "flagged"), *[(k, v["n"], percent(v["flagged"])) for k, v in by_kind.items()]]
        )
        out.append("")
    return out


def _thread_section(card: dict[str, Any]) -> list[str]:
    """The thread stage: what was chosen, what was tried, and its cross-validated figures per kind."""
    thread = card.get("selection", {}).get("thread") or {}
    if not thread:
        return []
    cv = thread["cross_validation"]
    out = [
        "## The thread stage",
        "",
        f"Replies that answer another comment ({thread['rows']} training replies) are read under it by a second "
        f"logistic regression: {thread['described']}. Chosen by cross-validation grouped by post "
        f"(cross-validated ROC AUC {cv['roc_auc']:.3f}); replies without a parent are scored by the reply-only model "
        "alone. One threshold serves both: the stage's cross-validated cut (the F1-best one, raised so that at most "
        "5% of the non-critical thread replies are flagged) was "
        f"{thread.get('calibration', {}).get('cross_validated_cut', 0.5):.3f}, and "
        f"{thread.get('calibration', {}).get('critical_log_odds_shift', 0.0):+.2f} on its critical log-odds moves it "
        "onto the model's threshold. The test figures with and without the parent are in the tables above "
        "(`threads` and `threads, reply alone`).",
        "",
    ]
    out += _table(
        [
            ("stage", "candidate", "score", "ROC AUC", "flag macro F1", "mean kind accuracy"),
            *[
                (t["stage"], t["params"], f"{t['selection_score']:.4f}", *(f"{v:.3f}" for v in t["parts"].values()))
                for t in thread["tried"]
            ],
        ]
    )
    out += ["", "Cross-validated flag accuracy per thread kind:", ""]
    out += _table([("kind", "accuracy", "n"), *[(k, f"{v['accuracy']:.3f}", v["n"]) for k, v in cv["kinds"].items()]])
    return [*out, ""]


def _shortcut_section(card: dict[str, Any]) -> list[str]:
    shortcuts = card.get("shortcuts")
    if not shortcuts:
        return []
    out = [
        "## Shortcut report",
        "",
        "The terms with the largest weight toward critical, with the training rows that hold each (a term that leans "
        "critical without judging anyone is a shortcut the data taught), then every benign phrase of the phrase "
        "table scored alone: one above half the threshold "
        f"({card['threshold'] / 2:.3f}) is a shortcut.",
        "",
        *_table(shortcut_table(card)),
        "",
    ]
    phrases = shortcuts.get("phrases", [])
    if phrases:
        out += _table(
            [
                ("benign phrase", "score alone", "above half the threshold"),
                *[
                    (f"`{p['phrase']}`", f"{p['score']:.3f}", "**yes**" if p["leans_critical"] else "no")
                    for p in phrases
                ],
            ]
        )
        out.append("")
    return out


def render_markdown(card: dict[str, Any], pictures: Sequence[str] = ()) -> str:
    """The card as a Markdown page: data, chosen parameters, metrics, what model selection tried."""
    metrics = card["metrics"]
    named = {"cross-validation (authored rows)": metrics["cross_validation"], **metrics.get("tests", {})}
    p = card["params"]
    rule = p["sentence_rule"]
    rule_text = (
        f"in a reply of at least {rule['min_sentences']} sentences, a sentence scoring at least {rule['gate']} raises "
        f"the reply's score {rule['weight']} of the way towards its own"
        if rule["weight"] > 0
        else "none"
    )
    decision = card["selection"].get("sentence_rule", {})
    out = [
        "# griefguard model card",
        "",
        f"Created {card['created']} in {card['training_seconds']} s by `griefguard train` "
        f"(model format {card['format_version']}).",
        "",
        f"A {'one-vs-rest' if p['link'] == 'ovr' else 'multinomial'} logistic regression (C={p['C']:g}) over "
        f"L2-normalised TF-IDF word n-grams {p['ngram_range']}"
        + (f" and character n-grams {p['char_range']}" if p.get("char_range") else "")
        + " "
        f"of the normalised reply (normaliser `{p['normalizer']}`, negation scope {p['negation_scope']}, "
        f"sublinear TF {p['sublinear_tf']}, min_df {p['min_df']}), with the labels {', '.join(card['labels'])}. "
        f"Real comments are trained on with weight {p['real_weight']:g}. A reply is flagged when its probability "
        f"of being critical is at least **{card['threshold']:.4f}**: the F1-best threshold on cross-validated "
        "predictions, raised where needed so that at most 3% of the real neutral comments, and of the real "
        f"empathic ones, are flagged. Sentence rule: {rule_text}.",
        "",
        "## Headline figures",
        "",
        *_table(summary_table(card)),
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
        "Flag metrics count a reply as correct when it is flagged exactly if it is critical; label metrics compare "
        "the most probable label with the true one. Per-kind figures are flag accuracy.",
        "",
        *_table(metrics_table(named)),
        "",
    ]
    if metrics.get("real"):
        out += ["## Held-out real comments", "", *_table(real_table(metrics["real"])), ""]
    out += _kind_sections(metrics.get("tests", {}))
    out += _thread_section(card)
    out += _shortcut_section(card)
    test = metrics.get("tests", {}).get("test", {})
    if "contexts" in test:
        out += ["## Test accuracy per grief context", ""]
        out += _table(
            [
                ("context", "flag accuracy", "n"),
                *[(k, f"{v['accuracy']:.3f}", v["n"]) for k, v in test["contexts"].items()],
            ]
        )
        out.append("")
    out += ["## What model selection tried", "", card["selection"]["method"] + ".", ""]
    parts = sorted({k for t in card["selection"]["tried"] for k in t["parts"]})
    out += _table(
        [
            ("stage", "parameters", "score", "threshold", *parts),
            *[
                (
                    t["stage"],
                    t["params"],
                    f"{t['selection_score']:.4f}",
                    f"{t['threshold']:.3f}",
                    *[f"{t['parts'].get(k, 0):.3f}" for k in parts],
                )
                for t in card["selection"]["tried"]
            ],
        ]
    )
    if decision:
        out += [
            "",
            "## The sentence rule",
            "",
            f"Decision: {'kept' if decision.get('kept') else 'dropped'} ({decision.get('reason', '')}).",
            "",
        ]
        if decision.get("checks"):
            out += _table(
                [
                    ("check", "with the rule", "without", "passes"),
                    *[(k, v[0], v[1], "yes" if v[2] else "no") for k, v in decision["checks"].items()],
                ]
            )
    out += ["", "## Library versions", "", ", ".join(f"{k} {v}" for k, v in card["versions"].items()), ""]
    for pic in pictures:
        out += [f"![{Path(pic).stem}]({Path(pic).name})", ""]
    return "\n".join(out)


def draw_pictures(
    model: ModelData, test: LabeledData, directory: Path, probabilities: np.ndarray | None = None
) -> list[Path]:
    """A precision-recall curve of the flag and the label confusion matrix on the test file (from its scores
    when training has them already); [] without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    from sklearn.metrics import confusion_matrix, precision_recall_curve

    from griefguard.scorer import Scorer

    probs = probabilities if probabilities is not None else Scorer(model).probabilities(test.texts)
    c = model.labels.index(CRITICAL)
    y = np.array([lab == CRITICAL for lab in test.labels])
    precision, recall, _ = precision_recall_curve(y, probs[:, c])
    flagged = probs[:, c] >= model.threshold
    tp, fp = int((flagged & y).sum()), int((flagged & ~y).sum())
    fig, ax = plt.subplots(figsize=(4.5, 4))
    ax.plot(recall, precision)
    ax.scatter([tp / max(1, int(y.sum()))], [tp / max(1, tp + fp)], color="red", zorder=3, label="threshold")
    ax.set(
        xlabel="recall (critical)",
        ylabel="precision (critical)",
        title="Flagging on the test file",
        xlim=(0, 1.02),
        ylim=(0, 1.02),
    )
    ax.legend(loc="lower left")
    fig.tight_layout()
    pr_path = directory / "precision_recall.png"
    fig.savefig(pr_path, dpi=100, metadata={"Software": None})
    plt.close(fig)

    labels = list(model.labels)
    predicted = [labels[i] for i in probs.argmax(axis=1)]
    cm = confusion_matrix(test.labels, predicted, labels=labels)
    fig, ax = plt.subplots(figsize=(4.4, 3.8))
    ax.imshow(cm, cmap="Blues")
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, str(v), ha="center", va="center", color="white" if v > cm.max() / 2 else "black")
    ax.set(
        xticks=range(len(labels)),
        yticks=range(len(labels)),
        xticklabels=labels,
        yticklabels=labels,
        xlabel="predicted label",
        ylabel="true label",
        title="Labels on the test file",
    )
    fig.tight_layout()
    cm_path = directory / "confusion_matrix.png"
    fig.savefig(cm_path, dpi=100, metadata={"Software": None})
    plt.close(fig)
    return [pr_path, cm_path]
