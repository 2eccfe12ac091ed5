"""The data a training run reads: authored training files, real comments, and the sets it is evaluated on.

A data folder (`data/` in the repository) is laid out by convention:
- `train.csv` and `test.csv`: the main authored corpus;
- any subfolder with its own `train.csv` (more authored training rows) and `test.csv` (another evaluation
  set, named after the subfolder: `realistic`, `dilution`);
- thread files (with `parent` and `post` columns, such as `threads/train.csv`): replies read with the comment they
  answer; those with a parent train the thread stage, direct replies to the post train with the rest;
- `real/*.csv`: real comments from public data sets, with a `split` column (`train` rows are trained on,
  `holdout` rows only evaluated) and a `role` column (neutral, empathic, hostile) for the real-data report.
Every file is validated, together, before anything is trained (duplicates within and across files stop it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from griefguard.dataset import LabeledData, find_problems, load_labeled
from griefguard.errors import DataError

__all__ = ["NOT_REDISTRIBUTED", "Corpus", "ThreadRows", "TrainingRows", "load_corpus"]

# Real-comment files whose terms do not let this repository redistribute their text (data/LICENSES.md): tweets are
# X content (X's developer terms allow datasets of post IDs only), and counsel-chat's answers were scraped from a
# website whose authors granted no licence. `scripts/build_real_data.py` rebuilds them from the public snapshots;
# the bundled model was trained on them, and training uses them wherever they have been rebuilt.
NOT_REDISTRIBUTED = ("counsel_chat", "davidson", "tweeteval")


@dataclass
class TrainingRows:
    """All rows trained on, in one list: texts, labels, and where each came from."""

    texts: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    contexts: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)  # real rows: neutral, empathic or hostile; authored: ""
    sources: list[str] = field(default_factory=list)  # file name (authored) or "real:<source>"

    def add(self, data: LabeledData, source: str) -> None:
        """The file's rows read alone; replies to another comment (with a parent) belong to the thread stage."""
        for e in data.examples:
            if e.parent:
                continue
            self.texts.append(e.text)
            self.labels.append(e.label)
            self.kinds.append(e.kind)
            self.contexts.append(e.context)
            self.roles.append(e.role)
            self.sources.append(source)

    @property
    def is_real(self) -> np.ndarray:
        return np.array([s.startswith("real:") for s in self.sources], dtype=bool)

    def __len__(self) -> int:
        return len(self.texts)


@dataclass
class ThreadRows:
    """Training replies that answer another comment, with that comment (`parents`) and the post: what the thread
    stage learns from."""

    texts: list[str] = field(default_factory=list)
    parents: list[str] = field(default_factory=list)
    posts: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)

    def add(self, data: LabeledData) -> None:
        for e in data.examples:
            if e.parent:
                self.texts.append(e.text)
                self.parents.append(e.parent)
                self.posts.append(e.post)
                self.labels.append(e.label)
                self.kinds.append(e.kind)

    def __len__(self) -> int:
        return len(self.texts)


@dataclass
class Corpus:
    """Everything a run reads: training files, real files, and named evaluation sets."""

    train_files: list[LabeledData]
    real_files: dict[str, LabeledData]  # source name -> its whole file (both splits)
    tests: dict[str, LabeledData]  # name -> evaluation set ("test" is the main one)
    phrases: list[str] = field(default_factory=list)  # benign phrases for the shortcut report (phrases.txt)

    def training_rows(self, use_real: bool = True) -> TrainingRows:
        rows = TrainingRows()
        for data in self.train_files:
            rows.add(data, data.path.as_posix())
        if use_real:
            for name, data in self.real_files.items():
                rows.add(data.subset(lambda e: e.split == "train"), f"real:{name}")
        return rows

    def thread_rows(self) -> ThreadRows:
        rows = ThreadRows()
        for data in self.train_files:
            rows.add(data)
        return rows

    def real_holdout(self) -> dict[str, LabeledData]:
        return {name: data.subset(lambda e: e.split == "holdout") for name, data in self.real_files.items()}

    def files(self) -> list[tuple[str, LabeledData]]:
        """(role, data) of every file read, for the model card."""
        out = [("train" if i == 0 else "extra-train", d) for i, d in enumerate(self.train_files)]
        out += [(f"real:{name}", d) for name, d in self.real_files.items()]
        out += [("test" if name == "test" else f"test:{name}", d) for name, d in self.tests.items()]
        return out


def _layout(data_dir: Path) -> tuple[list[Path], dict[str, Path], list[Path]]:
    """(training files, named test files, real files) of a data folder laid out by convention."""
    if not data_dir.is_dir():
        raise DataError(f"{data_dir}: no such data folder")
    train = [data_dir / "train.csv"] if (data_dir / "train.csv").exists() else []
    tests = {"test": data_dir / "test.csv"} if (data_dir / "test.csv").exists() else {}
    for sub in sorted(p for p in data_dir.iterdir() if p.is_dir() and p.name != "real"):
        if (sub / "train.csv").exists():
            train.append(sub / "train.csv")
        if (sub / "test.csv").exists():
            tests[sub.name] = sub / "test.csv"
    real = sorted((data_dir / "real").glob("*.csv")) if (data_dir / "real").is_dir() else []
    if not train:
        raise DataError(f"{data_dir}: no train.csv in the folder or its subfolders")
    return train, tests, real


def read_phrases(path: Path) -> list[str]:
    """The benign phrases of a phrase table: one a line; blank lines and lines starting with # are skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read the phrase table ({exc})") from None
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def phrase_files(data_dir: Path) -> list[Path]:
    """The phrase tables of a data folder: `phrases.txt` in it or in any subfolder."""
    return sorted([*data_dir.glob("phrases.txt"), *data_dir.glob("*/phrases.txt")])


def load_corpus(
    data_dir: str | Path | None = "data",
    *,
    train: Sequence[str | Path] = (),
    extra: Sequence[str | Path] = (),
    test: str | Path | None = None,
    no_test: bool = False,
    real_dir: str | Path | None = None,
    text_column: str = "text",
    label_column: str = "label",
    skip_real: Sequence[str] = (),
) -> Corpus:
    """Read and validate a run's data.

    With `train` files, those replace the data folder's training files and its evaluation sets (`test` names
    the test file) and no real comments are used unless `real_dir` is given. `extra` files are added to the
    training files either way. Raises DataError naming the first problem (file and line).
    """
    phrase_paths: list[Path] = []
    if train:
        train_paths, test_paths, real_paths = [Path(p) for p in train], {}, []
    else:
        if data_dir is None:
            raise DataError("no training data: give a data folder or --train files")
        train_paths, test_paths, real_paths = _layout(Path(data_dir))
        phrase_paths = phrase_files(Path(data_dir))
    if real_dir is not None:
        real_paths = sorted(Path(real_dir).glob("*.csv"))
    real_paths = [p for p in real_paths if p.stem not in skip_real]
    train_paths += [Path(p) for p in extra]
    if test is not None:
        test_paths = {"test": Path(test), **{k: v for k, v in test_paths.items() if k != "test"}}
    if no_test:
        test_paths = {}

    def read(path: Path) -> LabeledData:
        return load_labeled(path, text_column, label_column, check=False)

    corpus = Corpus(
        train_files=[read(p) for p in train_paths],
        real_files={p.stem: load_labeled(p, check=False) for p in real_paths},
        tests={name: read(p) for name, p in test_paths.items()},
        phrases=[phrase for path in phrase_paths for phrase in read_phrases(path)],
    )
    for name, data in corpus.real_files.items():
        bad = [e for e in data.examples if e.split not in ("train", "holdout")]
        if bad:
            raise DataError(f"{data.path}:{bad[0].line}: real comments need a split of train or holdout ({name})")
    problems = find_problems([d for _, d in corpus.files()])
    if problems:
        more = f" (+{len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise DataError(problems[0] + more)
    return corpus
