"""Load labeled reply files and reject bad data with a message naming the file and line.

Training reads its data only through `load_labeled`, so a typo in a label, an empty reply, a conflicting
duplicate or a test row that near-copies a training row stops training before a model is built.
`griefguard check-data data/` checks a data folder and prints its counts table.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from griefguard.errors import DataError
from griefguard.formats import LABELED_EXTENSIONS, format_of
from griefguard.labels import LABELS
from griefguard.tabular import BadRow, csv_rows, jsonl_rows

__all__ = [
    "EVERYDAY_KINDS",
    "HARD_KINDS",
    "REGISTER_KINDS",
    "KINDS",
    "THREAD_KINDS",
    "LABELS",
    "Example",
    "LabeledData",
    "check_files",
    "counts_rows",
    "find_problems",
    "load_labeled",
    "near_duplicates",
]

HARD_KINDS = ("defends", "polite_critical", "sarcasm", "negation", "short", "mixed")
REGISTER_KINDS = ("question", "offtopic", "hostile", "foreign")
# The everyday replies a moderator sees most (labeling guide, "Everyday replies").
EVERYDAY_KINDS = ("condolence", "swearing", "death_fact", "gentle_advice", "hedged")
KINDS = ("plain", *HARD_KINDS, *REGISTER_KINDS, *EVERYDAY_KINDS)
# A thread row is read with the comment it answers (labeling guide, "Threads"); a file with a `parent` column is a
# thread file and its rows take these kinds.
THREAD_KINDS = ("defends", "piles_on", "attacks_supporter", "agrees_support", "side_talk", "direct", "echo_short")
NEAR_DUPLICATE_JACCARD = 0.8  # word-3-gram Jaccard similarity at which two replies count as copies

_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Example:
    """One labeled reply and where it came from (`role` and `split` are set in real-comment files; `parent` and
    `post` in thread files, empty for a reply read alone or a direct reply to the post)."""

    text: str
    label: str
    line: int
    context: str = ""
    kind: str = ""
    role: str = ""
    split: str = ""
    parent: str = ""
    post: str = ""

    @property
    def identity(self) -> tuple[str, str]:
        """What makes two rows the same row: the reply's text under the same parent (both folded by `_key`)."""
        return (_key(self.parent) if self.parent else "", _key(self.text))


@dataclass
class LabeledData:
    """The validated rows of one labeled file."""

    path: Path
    examples: list[Example]
    sha256: str
    columns: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # rows left out: unknown label or kind, empty text

    @property
    def texts(self) -> list[str]:
        return [e.text for e in self.examples]

    @property
    def is_thread(self) -> bool:
        """A thread file: each reply is read with the comment it answers (a `parent` column)."""
        return "parent" in self.columns

    @property
    def parents(self) -> list[str]:
        return [e.parent for e in self.examples]

    @property
    def posts(self) -> list[str]:
        return [e.post for e in self.examples]

    @property
    def labels(self) -> list[str]:
        return [e.label for e in self.examples]

    @property
    def has_kinds(self) -> bool:
        return "kind" in self.columns

    def subset(self, keep: Callable[[Example], bool]) -> LabeledData:
        """The rows for which `keep` is true (same file, same hash)."""
        return LabeledData(self.path, [e for e in self.examples if keep(e)], self.sha256, self.columns, self.problems)

    def __len__(self) -> int:
        return len(self.examples)


def _decode(path: Path, raw: bytes) -> str:
    if b"\x00" in raw[:65536]:
        raise DataError(f"{path}: looks like a binary file, not text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(
            f"{path}:{line}: not valid UTF-8 (byte {raw[exc.start]:#04x}); save the file as UTF-8"
        ) from None


@functools.cache
def _is_punctuation(char: str) -> bool:
    return unicodedata.category(char).startswith("P")


def _key(text: str) -> str:
    """Text with case, punctuation and whitespace folded: two replies with the same key are the same reply ("so
    sorry" and "So Sorry!"). A reply of punctuation alone keys on itself."""
    folded = text.casefold()
    bare = "".join(" " if _is_punctuation(c) else c for c in folded)
    return " ".join(bare.split()) or " ".join(folded.split())


def is_jsonl(path: Path) -> bool:
    return format_of(path) == "jsonl"


def _rows(path: Path, content: str) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """(columns, (line, row) per record) of a labeled CSV or JSON Lines file; the first bad row is a DataError.
    JSON values that are not strings become text ("" for null), as a CSV cell would hold them."""
    lines = io.StringIO(content, newline="")
    if not is_jsonl(path):
        header: list[str] = []

        def keep(row: list[str]) -> list[str]:
            header.extend(h.strip() for h in row)
            return header

        rows = _strict(path, csv_rows(lines, ",", keep))
        first = next(rows, None)  # reads the header (and the first row)
        return header, iter([first, *rows] if first is not None else [])
    records = []
    columns: dict[str, None] = {}
    for number, obj in _strict(path, jsonl_rows(lines)):
        columns.update(dict.fromkeys(obj))
        records.append((number, {k: v if isinstance(v, str) else "" if v is None else str(v) for k, v in obj.items()}))
    return list(columns), iter(records)


def _strict(path: Path, items: Iterator[tuple[int, Any] | BadRow]) -> Iterator[tuple[int, Any]]:
    """The rows, until the first bad one, which is a DataError naming the file and line."""
    for item in items:
        if isinstance(item, BadRow):
            raise DataError(f"{path}:{item.line}: {item.reason}")
        yield item


def load_labeled(
    path: str | Path,
    text_column: str = "text",
    label_column: str = "label",
    *,
    check: bool = True,
    any_kind: bool = False,
    labels: Sequence[str] = LABELS,
) -> LabeledData:
    """Read a labeled CSV or JSON Lines file (UTF-8). Raises DataError naming file and line on the first problem.

    Required are the text and label columns (a label must be one of `labels`); `context`, `kind`, `role`,
    `split`, `parent` and `post` are read when present. A `kind` must be one of KINDS (THREAD_KINDS in a file
    with a `parent` column) unless `any_kind` (a moderator's own labeled export can use its own kinds). With
    `check=False` a row with an unknown label or kind or an empty text is left out and listed in `problems`, and
    duplicates are not looked for: `find_problems` reports all of them at once. A file that cannot be read at all
    (missing, binary, not UTF-8, without the columns) raises DataError either way.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a directory, expected a labeled CSV or JSON Lines file") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from None
    content = _decode(path, raw)
    if not content.strip():
        raise DataError(f"{path}: file is empty")
    header, rows = _rows(path, content)
    missing = [c for c in (text_column, label_column) if c not in header]
    if missing:
        where = f"{path}" if is_jsonl(path) else f"{path}:1"
        raise DataError(
            f"{where}: missing {'field' if is_jsonl(path) else 'column'} {', '.join(repr(m) for m in missing)}; "
            f"the file has {', '.join(header) or 'none'} (choose others with --text-column and --label-column)"
        )
    examples: list[Example] = []
    problems: list[str] = []
    kinds = THREAD_KINDS if "parent" in header else KINDS
    for line, row in rows:
        text = row.get(text_column, "")
        label = row.get(label_column, "").strip()
        kind = row.get("kind", "").strip()
        row_problems = []
        if not text.strip():
            row_problems.append(f"{path}:{line}: empty text")
        if label not in labels:
            row_problems.append(f"{path}:{line}: unknown label {label!r} (expected {', '.join(labels)})")
        if "kind" in header and not any_kind and kind not in kinds:
            row_problems.append(f"{path}:{line}: unknown kind {kind!r} (expected one of {', '.join(kinds)})")
        if row_problems:
            problems.extend(row_problems)
            continue
        examples.append(
            Example(
                text=text,
                label=label,
                line=line,
                context=row.get("context", "").strip(),
                kind=kind,
                role=row.get("role", "").strip(),
                split=row.get("split", "").strip(),
                parent=row.get("parent", "") or "",
                post=row.get("post", "") or "",
            )
        )
    if not examples and not problems:
        raise DataError(f"{path}: no rows after the header")
    data = LabeledData(
        path=path, examples=examples, sha256=hashlib.sha256(raw).hexdigest(), columns=header, problems=problems
    )
    if check:
        problems = find_problems([data])
        if problems:
            more = f" (+{len(problems) - 1} more problems)" if len(problems) > 1 else ""
            raise DataError(problems[0] + more)
    return data


def _exact_problems(data: LabeledData) -> list[str]:
    problems = []
    first: dict[tuple[str, str], Example] = {}
    for ex in data.examples:
        key = ex.identity
        seen = first.get(key)
        if seen is None:
            first[key] = ex
        elif seen.label != ex.label:
            problems.append(
                f"{data.path}:{ex.line}: same text as line {seen.line} but labeled {ex.label} there {seen.label}"
            )
        else:
            problems.append(f"{data.path}:{ex.line}: duplicate of line {seen.line}")
    return problems


def _trigrams(text: str) -> frozenset[tuple[str, ...]]:
    words = _WORD.findall(text.casefold())
    return frozenset(tuple(words[i : i + 3]) for i in range(len(words) - 2))


ECHO_WORDS = 4  # a reply this short may stand under several parents in thread files ("agreed", "this 👆")


def _echo(a: Example, b: Example) -> bool:
    """Two very short thread replies under different parents: the same echo, not a copy (labeling guide)."""
    short = len(_WORD.findall(a.text)) <= ECHO_WORDS and len(_WORD.findall(b.text)) <= ECHO_WORDS
    return short and bool(a.parent) and bool(b.parent) and _key(a.parent) != _key(b.parent)


def near_duplicates(
    datasets: Sequence[LabeledData], threshold: float = NEAR_DUPLICATE_JACCARD
) -> list[tuple[tuple[int, int], tuple[int, int], float]]:
    """Pairs of rows, across and within datasets, whose word-3-gram Jaccard similarity is >= threshold.

    Returns ((dataset index, row index), (dataset index, row index), similarity), earlier row first.
    Replies of fewer than three words have no 3-grams and are covered by the exact-duplicate check. Rows with the
    same folded text (`_key`) are not near-duplicates of each other: they are exact duplicates, or, in thread
    files, the same reply under different parents. Candidate pairs come from an inverted index, so this stays
    fast on tens of thousands of rows.
    """
    postings: dict[tuple[str, ...], list[int]] = defaultdict(list)
    refs: list[tuple[int, int]] = []
    grams: list[frozenset[tuple[str, ...]]] = []
    pairs = []
    for d, data in enumerate(datasets):
        for r, ex in enumerate(data.examples):
            g = _trigrams(ex.text)
            if not g:
                continue
            me = len(refs)
            shared: Counter[int] = Counter()
            for gram in g:
                shared.update(postings[gram])
            for other, overlap in shared.items():
                sim = overlap / (len(g) + len(grams[other]) - overlap)
                seen = datasets[refs[other][0]].examples[refs[other][1]]
                if sim >= threshold and _key(ex.text) != _key(seen.text) and not _echo(ex, seen):
                    pairs.append((refs[other], (d, r), sim))
            for gram in g:
                postings[gram].append(me)
            refs.append((d, r))
            grams.append(g)
    return pairs


def find_problems(datasets: Sequence[LabeledData]) -> list[str]:
    """Every duplicate, conflicting duplicate and near-duplicate within and between the given files.

    Exact duplicates across files are reported too: a test reply that is also a training reply measures
    memory, not skill.
    """
    problems: list[str] = []
    for data in datasets:
        problems.extend(data.problems)
        problems.extend(_exact_problems(data))
    first: dict[tuple[str, str], tuple[LabeledData, Example]] = {}
    for data in datasets:
        local: set[tuple[str, str]] = set()
        for ex in data.examples:
            key = ex.identity
            if key in local:
                continue
            local.add(key)
            if key in first:
                other, seen = first[key]
                conflict = f" but labeled {ex.label} there {seen.label}" if ex.label != seen.label else ""
                problems.append(f"{data.path}:{ex.line}: same text as {other.path}:{seen.line}{conflict}")
            else:
                first[key] = (data, ex)
    for (d1, r1), (d2, r2), sim in near_duplicates(datasets):
        a, b = datasets[d1], datasets[d2]
        problems.append(
            f"{b.path}:{b.examples[r2].line}: near-duplicate of {a.path}:{a.examples[r1].line} "
            f"(word-3-gram Jaccard {sim:.2f})"
        )
    return problems


def counts_rows(datasets: Sequence[LabeledData]) -> list[tuple[str, ...]]:
    """Rows per label, kind and context for each file, a header row first: (what, count (share) per file), for
    `check-data`'s table."""
    paths = [d.path.resolve() for d in datasets]
    common = Path(os.path.commonpath([p.parent for p in paths])) if paths else Path()
    rows: list[tuple[str, ...]] = [("rows", *(p.relative_to(common).as_posix() for p in paths))]

    def add(group: str, values: list[str], getter) -> None:  # type: ignore[no-untyped-def]
        counts = [Counter(getter(e) for e in d.examples) for d in datasets]
        for v in values:
            cells = (f"{c[v]} ({c[v] / len(d):.0%})" for c, d in zip(counts, datasets, strict=True))
            rows.append((f"{group}: {v}", *cells))

    rows.append(("total", *(str(len(d)) for d in datasets)))
    add("label", list(LABELS), lambda e: e.label)
    known = dict.fromkeys([*KINDS, *THREAD_KINDS])
    kinds = [k for k in known if any(e.kind == k for d in datasets for e in d.examples)]
    add("kind", kinds, lambda e: e.kind)
    hard = [sum(e.kind in HARD_KINDS for e in d.examples) for d in datasets]
    rows.append(("kind: any hard case", *(f"{h} ({h / len(d):.0%})" for h, d in zip(hard, datasets, strict=True))))
    contexts = sorted({e.context for d in datasets for e in d.examples if e.context})
    add("context", contexts, lambda e: e.context)
    return rows


def check_files(
    paths: Sequence[str | Path], text_column: str = "text", label_column: str = "label"
) -> tuple[list[tuple[str, ...]], list[str]]:
    """Validate labeled files together: (their counts as table rows, every problem found). A folder means every CSV and
    JSON Lines file below it. Raises DataError for a file that cannot be read at all."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(sorted(f for f in p.rglob("*") if f.suffix.lower() in LABELED_EXTENSIONS))
        else:
            files.append(p)
    if not files:
        raise DataError(f"no labeled files in {', '.join(map(str, paths))}")
    datasets = [load_labeled(f, text_column, label_column, check=False) for f in files]
    return counts_rows(datasets), find_problems(datasets)
