"""The review queue: a file's replies scored for a moderator, with the reasons behind each score and the
moderator's decisions beside them (what `griefguard review` serves; the page is in `review_app`).

Replies are scored once, when the queue is built; explanations (the terms that raised and lowered a score, and
where they are in the text) are computed when the page asks for them, a screenful at a time in one pass, and kept.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from griefguard.decisions import Decision, DecisionLog, ReplyKey
from griefguard.errors import InputError
from griefguard.labels import CRITICAL
from griefguard.metrics import flag_figures, threshold_figures
from griefguard.reading import STDIN, Record, Skip, open_inputs, read_records
from griefguard.scorer import Prediction, Scorer

__all__ = ["QueueItem", "ReviewQueue", "default_decisions_path", "fit_threshold", "highlight_spans"]

MIN_HIGHLIGHT = 0.1  # terms that move the log-odds less than this are listed, not highlighted
MAX_REPLIES = 100_000  # a queue larger than this is a job for `classify`, not for a page
_THREAD_SUFFIX = re.compile(r" \(under an? \w+ comment\)$")
_WORD = re.compile(r"\w", re.UNICODE)


@dataclass(frozen=True)
class QueueItem:
    """One reply in the queue: where it came from, its thread, and the model's prediction."""

    index: int
    source: str
    line: int
    text: str
    parent: str
    post: str
    prediction: Prediction

    @property
    def key(self) -> ReplyKey:
        return (self.text, self.parent, self.post)


def default_decisions_path(files: list[str]) -> Path:
    """Where decisions go unless --decisions says otherwise: beside the first input, named after it."""
    first = Path(files[0])
    return first.with_name(f"{first.stem}.decisions.csv")


def _utf16(text: str, index: int) -> int:
    """A code-point offset as the browser counts (UTF-16 code units), so highlights land on emoji-rich text."""
    return len(text[:index].encode("utf-16-le")) // 2


def _term_pattern(term: str) -> re.Pattern[str] | None:
    """A pattern that finds a model term (space-separated tokens, lower-cased) in the reply as written."""
    tokens = _THREAD_SUFFIX.sub("", term).split()
    if not tokens or any(t.startswith(("xurl", "xmention")) for t in tokens):
        return None
    parts = []
    for token in tokens:
        escaped = re.escape(token).replace("'", "['’]")
        parts.append(rf"(?<!\w){escaped}(?!\w)" if _WORD.match(token[0]) else escaped)
    return re.compile(r"[\W_]*?".join(parts), re.IGNORECASE)


def highlight_spans(text: str, raising: list[tuple[str, float]], lowering: list[tuple[str, float, str]]) -> list[dict]:
    """Where the explained terms stand in the text, as non-overlapping spans in UTF-16 offsets, each marked
    `raise` (pushed the score toward critical) or `lower`; the strongest term wins where two overlap."""
    terms = [(term, weight, "raise") for term, weight in raising] + [(t, w, "lower") for t, w, _ in lowering]
    taken: list[tuple[int, int]] = []
    spans = []
    for term, weight, kind in sorted(terms, key=lambda t: -abs(t[1])):
        if abs(weight) < MIN_HIGHLIGHT:
            continue
        pattern = _term_pattern(term)
        if pattern is None:
            continue
        for match in pattern.finditer(text):
            start, end = match.span()
            if end > start and all(end <= a or start >= b for a, b in taken):
                taken.append((start, end))
                spans.append(
                    {
                        "start": _utf16(text, start),
                        "end": _utf16(text, end),
                        "kind": kind,
                        "term": _THREAD_SUFFIX.sub("", term),
                        "weight": round(weight, 3),
                    }
                )
    return sorted(spans, key=lambda s: s["start"])


def fit_threshold(decisions: list[Decision], threshold: float, target_precision: float) -> dict[str, Any]:
    """The moderator's own figures from their decisions so far: precision, recall and share flagged at
    `threshold`, and the lowest threshold reaching `target_precision`, with how many decisions they rest on.
    Scores are those the model gave when each decision was made."""
    scored = [d for d in decisions if d.model_score is not None]
    critical = np.array([d.label == CRITICAL for d in scored], dtype=bool)
    scores = np.array([d.model_score for d in scored], dtype=np.float64)
    fitted = threshold_figures(critical, scores, target_precision)
    return {
        "decisions": len(scored),
        "critical": fitted["critical"],
        "at_threshold": flag_figures(critical, scores, threshold),
        "target_precision": target_precision,
        "reaching_target": fitted["lowest_threshold_reaching_it"],
    }


class ReviewQueue:
    """Scored replies of the input files, with explanations on demand and the decisions file beside them."""

    def __init__(
        self,
        scorer: Scorer,
        items: list[QueueItem],
        log: DecisionLog,
        files: list[str],
        threshold: float | None = None,
    ) -> None:
        self.scorer = scorer
        self.model_name = scorer.name
        self.threshold = scorer.check_threshold(threshold)  # where the page's threshold control starts
        self.items = items
        self.log = log
        self.files = files
        self._explained: dict[int, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._by_key: dict[ReplyKey, list[int]] = {}
        for item in items:
            self._by_key.setdefault(item.key, []).append(item.index)

    @classmethod
    def from_files(
        cls,
        scorer: Scorer,
        files: list[str],
        log: DecisionLog,
        *,
        text_column: str = "text",
        parent_column: str = "parent",
        post_column: str = "post",
        input_format: str | None = None,
        max_replies: int = MAX_REPLIES,
        threshold: float | None = None,
    ) -> tuple[ReviewQueue, list[Skip]]:
        """Read and score every reply of the files (threads read under their parents); the skipped records are
        returned for the caller to report. Raises InputError when there is nothing to review or too much."""
        inputs = open_inputs(files, input_format, text_column)
        records: list[Record] = []
        skips: list[Skip] = []
        for item in read_records(inputs, text_column, False, parent_column, post_column):
            if isinstance(item, Skip):
                skips.append(item)
                continue
            records.append(item)
            if len(records) > max_replies:
                raise InputError(
                    f"more than {max_replies} replies to review; review a sample, or score them all with classify"
                )
        if not records:
            raise InputError("no replies to review in " + ", ".join("<stdin>" if f == STDIN else f for f in files))
        thread = any(r.parent or r.post for r in records)
        predictions = scorer.predict(
            [r.text for r in records],
            parents=[r.parent for r in records] if thread else None,
            posts=[r.post for r in records] if thread else None,
        )
        items = [
            QueueItem(i, r.source, r.line, r.text, r.parent, r.post, p)
            for i, (r, p) in enumerate(zip(records, predictions, strict=True))
        ]
        return cls(scorer, items, log, files, threshold), skips

    def entry(self, item: QueueItem) -> dict[str, Any]:
        """What the page lists for a reply (its explanation comes separately)."""
        p = item.prediction
        decision = self.log.get(item.key)
        return {
            "id": item.index,
            "file": item.source,
            "line": item.line,
            "text": item.text,
            "parent": item.parent,
            "post": item.post,
            "label": p.label,
            "score": round(p.score, 6),
            "coverage": round(p.coverage, 4),
            "parent_label": p.parent_label,
            "score_alone": None if p.score_alone is None else round(p.score_alone, 6),
            "decision": None if decision is None else decision.label,
        }

    def explanations(self, indices: list[int]) -> list[dict[str, Any]]:
        """The terms behind each reply's score, with their places in its text: those not asked for before are
        explained together in one scoring pass, then kept."""
        with self._lock:
            missing = list(dict.fromkeys(i for i in indices if i not in self._explained))
        if missing:
            items = [self.items[i] for i in missing]
            predictions = self.scorer.predict(
                [item.text for item in items],
                parents=[item.parent for item in items],
                posts=[item.post for item in items],
                explain=True,
                top=6,
            )
            fresh = {}
            for item, p in zip(items, predictions, strict=True):
                e = p.explanation
                assert e is not None
                fresh[item.index] = {
                    "id": item.index,
                    **e.fields(),
                    "spans": highlight_spans(item.text, e.raising, e.lowering),
                }
            with self._lock:
                self._explained.update(fresh)
        with self._lock:
            return [self._explained[i] for i in indices]

    def decide(self, index: int, label: str | None) -> Decision | None:
        """Record the moderator's label for a reply (None takes it back); durable when this returns."""
        item = self.items[index]
        p = item.prediction
        return self.log.decide(item.key, label, p.label, p.score)

    def decided_ids(self, key: ReplyKey) -> list[int]:
        """Every queue entry for the same reply (the same text under the same parent and post)."""
        return list(self._by_key.get(key, []))
