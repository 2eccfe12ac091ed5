"""Training-time augmentation: a polite critic's condolence, alone, is supportive; its judgment, alone, is critical.

Critics in the authored corpus often open with a condolence ("So sorry for your loss. But some things belong in
a family album."). A bag of words trained on such rows learns that "sorry", "condolences" and "but" lean
critical, and flags the commonest harmless reply there is. The labeling guide says the condolence becomes
critical only through the judgment that follows it, so each such row is split in two derived rows: the opening
condolence alone, labeled supportive, and the rest, labeled critical (its leading "but"/"though" dropped).

Rows are split only where it is safe to: an authored critical row whose first sentence (or its part before ", but"
and the like) holds a condolence, has at most MAX_OPENING_WORDS words and no hedge or judgment word. The derived
rows are never written to data/, never evaluated, and in cross-validation train only in the folds where their
source row trains. Model selection keeps the augmentation only if cross-validation says it helps.
"""

from __future__ import annotations

import re

import numpy as np

from griefguard.labels import SUPPORTIVE
from griefguard.model_file import POSITIVE_LABEL
from griefguard.training.data import TrainingRows

__all__ = ["MAX_OPENING_WORDS", "derived_rows", "split_condolence"]

MAX_OPENING_WORDS = 14

_CONDOLENCE = re.compile(
    r"\b(?:sorry|condolences?|rip|r\.i\.p|rest in peace|rest easy|fly high|prayers?|praying|pray|hugs?|"
    r"sending (?:love|strength)|love (?:you|and)|heart goes out|heartbroken|heartbreaking|feel for|thinking of|"
    r"thoughts are|sympath(?:y|ies)|my heart)\b|💔|🙏|🕊|❤|💙|🫂",
    re.IGNORECASE,
)
# An opening holding any of these may already judge ("so sorry, you should have ..."), so it is not split.
_NOT_PURE = re.compile(
    r"\b(?:should|shouldn'?t|but|though|tho|just|honestly|respect|respectfully|however|still|really|if|why|"
    r"not|never|no|only|at least|wish|think|hope you|maybe|wrong|come across|offend\w*)\b|\?",
    re.IGNORECASE,
)
# Where the opening ends: a sentence end or a line break, or a comma or dash before a contrastive word.
_PIVOT = re.compile(
    r"(?:(?<=[.!…])\s+|\n+|\s*[,;:–—-]\s*(?=(?:but|though|tho|however|that said|still|honestly|ngl|i just)\b))",
    re.IGNORECASE,
)
_LEADING_CONNECTOR = re.compile(
    r"^\s*(?:but|though|tho|however|that said|still|honestly|ngl|and)\b[\s,]*", re.IGNORECASE
)


def split_condolence(text: str) -> tuple[str, str] | None:
    """(the opening condolence, the judgment after it) of a critical reply that opens with a pure condolence,
    or None. The judgment loses its leading connector ("But you spent ..." -> "you spent ...")."""
    match = _PIVOT.search(text)
    if match is None:
        return None
    opening, rest = text[: match.start()].strip(), text[match.end() :].strip()
    rest = _LEADING_CONNECTOR.sub("", rest).strip()
    if not opening or not rest or len(rest.split()) < 3:
        return None
    if len(opening.split()) > MAX_OPENING_WORDS or not _CONDOLENCE.search(opening) or _NOT_PURE.search(opening):
        return None
    return opening, rest[:1].upper() + rest[1:] if rest[:1].islower() and text[:1].isupper() else rest


def derived_rows(rows: TrainingRows) -> tuple[TrainingRows, np.ndarray]:
    """The derived rows of a training set (see the module docstring) and, for each, the index of its source row."""
    derived, origin = TrainingRows(), []
    for i, (text, label, source) in enumerate(zip(rows.texts, rows.labels, rows.sources, strict=True)):
        if label != POSITIVE_LABEL or source.startswith("real:"):
            continue
        parts = split_condolence(text)
        if parts is None:
            continue
        for part, part_label, kind in ((parts[0], SUPPORTIVE, "condolence"), (parts[1], label, rows.kinds[i])):
            derived.texts.append(part)
            derived.labels.append(part_label)
            derived.kinds.append(kind)
            derived.contexts.append(rows.contexts[i])
            derived.roles.append("")
            derived.sources.append(f"derived:{source}")
            origin.append(i)
    return derived, np.array(origin, dtype=np.int64)
