"""Score replies at cluster scale with Dask (the `dask` extra): a Dask DataFrame in, the same frame with the
output columns added.

    import dask.dataframe as dd
    from griefguard.dask import classify
    scored = classify(dd.read_parquet("s3://archive/replies/*.parquet"), text_column="body")

Each worker process loads the model once, on its first partition, from a path every worker can read (or its
own bundled model); tasks carry only that path, never the model. Rows keep their order within each partition.
A row whose text is missing or not a string is not scored: its label is null and its score NaN.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
from dask.dataframe.utils import make_meta

from griefguard.atomic import current_umask
from griefguard.errors import GriefguardError, InputError, OutputError
from griefguard.formats import EXTENSIONS, format_of
from griefguard.labels import CRITICAL
from griefguard.scorer import Scorer, load_scorer

__all__ = ["classify", "classify_files", "output_columns"]

_scorers: dict[str, Scorer] = {}
_lock = threading.Lock()
loads = 0  # models loaded by this process (the tests check it is once per worker)


def _scorer(model: str | None) -> Scorer:
    """This process's scorer for `model`, loaded on first use."""
    global loads
    key = model or ""
    with _lock:
        if key not in _scorers:
            _scorers[key] = load_scorer(model)
            loads += 1
        return _scorers[key]


def output_columns(labels: Sequence[str], thread: bool = False) -> dict[str, Any]:
    """The columns `classify` adds, with their dtypes (`thread`: the frame has a parent column)."""
    columns: dict[str, Any] = {
        "label": pd.StringDtype(),
        "score": np.float64,
        "flagged": np.bool_,
        "coverage": np.float64,
    }
    columns.update({f"p_{label}": np.float64 for label in labels})
    if thread:
        columns.update({"parent_label": pd.StringDtype(), "score_alone": np.float64})
    return columns


def _strings(frame: pd.DataFrame, column: str | None, keep: np.ndarray) -> list[str] | None:
    """The column's values for the kept rows, "" where a value is missing or not a string; None without it."""
    if column is None or column not in frame.columns:
        return None
    return [v if isinstance(v, str) else "" for v, good in zip(frame[column].tolist(), keep, strict=True) if good]


def _classify_partition(
    frame: pd.DataFrame,
    text_column: str,
    model: str | None,
    threshold: float | None,
    parent_column: str | None = None,
    post_column: str | None = None,
) -> pd.DataFrame:
    scorer = _scorer(model)
    cut = scorer.check_threshold(threshold)
    values = frame[text_column].tolist()
    ok = np.array([isinstance(v, str) for v in values], dtype=bool)
    n, k = len(values), len(scorer.labels)
    texts = [v for v, good in zip(values, ok, strict=True) if good]
    parents = _strings(frame, parent_column, ok)
    posts = _strings(frame, post_column, ok)
    probs = np.full((n, k), np.nan)
    coverage = np.full(n, np.nan)
    out = frame.copy()
    if parents is not None:
        predictions = scorer.predict(texts, cut, parents=parents, posts=posts)
        probs[ok] = [[p.probabilities[label] for label in scorer.labels] for p in predictions]
        coverage[ok] = [p.coverage for p in predictions]
        parent_label = np.full(n, None, dtype=object)
        alone = np.full(n, np.nan)
        parent_label[ok] = [p.parent_label for p in predictions]
        alone[ok] = [np.nan if p.score_alone is None else p.score_alone for p in predictions]
    else:
        probs[ok], coverage[ok] = scorer.probabilities_and_coverage(texts)
    c = scorer.labels.index(CRITICAL)
    labels = np.asarray(scorer.labels, dtype=object)[np.nan_to_num(probs).argmax(axis=1)] if n else np.array([])
    out["label"] = pd.array(np.where(ok, labels, None), dtype=pd.StringDtype())
    out["score"] = probs[:, c]
    evidence = np.nan_to_num(coverage) > 0.0
    if parents is not None:
        evidence[ok] |= np.array([p.parent_label is not None for p in predictions], dtype=bool)
    out["flagged"] = ok & evidence & (np.nan_to_num(probs[:, c], nan=-1.0) >= cut)
    out["coverage"] = coverage
    for j, label in enumerate(scorer.labels):
        out[f"p_{label}"] = probs[:, j]
    if parents is not None:
        out["parent_label"] = pd.array(parent_label, dtype=pd.StringDtype())
        out["score_alone"] = alone
    return out


def classify(
    frame: dd.DataFrame,
    text_column: str = "text",
    model: str | Path | None = None,
    threshold: float | None = None,
    parent_column: str = "parent",
    post_column: str = "post",
) -> dd.DataFrame:
    """`frame` with label, score, flagged, coverage and p_<label> columns added (lazily, like any Dask frame).

    When the frame has a `parent_column` (the comment each reply answers), replies are read under their parents
    (with the post from `post_column` where the frame has one), and `parent_label` and `score_alone` columns are
    added too. `model` must be a path every worker can read; None means each worker's own default model
    ($GRIEFGUARD_MODEL, else the bundled one). The model is also loaded here once, to check it and to know
    its labels.
    """
    if text_column not in frame.columns:
        names = ", ".join(map(str, frame.columns))
        raise InputError(f"no {text_column!r} column; the frame has {names} (choose one with text_column)")
    local = load_scorer(model)
    local.check_threshold(threshold)
    thread = parent_column in frame.columns
    meta = make_meta(frame).copy()
    for name, dtype in output_columns(local.labels, thread).items():
        meta[name] = pd.Series(dtype=dtype)
    path = None if model is None else str(Path(model).resolve())
    return frame.map_partitions(
        _classify_partition,
        text_column,
        path,
        threshold,
        parent_column if thread else None,
        post_column if post_column in frame.columns else None,
        meta=meta,
    )


# -- the command line ------------------------------------------------------------------------------------


def _read(files: Sequence[str], input_format: str, text_column: str) -> dd.DataFrame:
    fmt = input_format
    if fmt in ("auto", "text"):
        kinds = {format_of(f.rstrip("*"), None) for f in files}
        if len(kinds) != 1 or not kinds <= {"csv", "tsv", "jsonl", "parquet"}:
            raise InputError("--dask reads CSV, TSV, JSON Lines or Parquet files of one kind; name them by extension")
        fmt = str(kinds.pop())
    try:
        if fmt in ("csv", "tsv"):
            return dd.read_csv(
                list(files),
                sep="," if fmt == "csv" else "\t",
                dtype={text_column: "object"},
                keep_default_na=False,
                blocksize="32MB",
            )
        if fmt == "jsonl":
            return dd.read_json(list(files), lines=True, blocksize=32_000_000, dtype={text_column: "object"})
        return dd.read_parquet(list(files))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {', '.join(files)}: {exc}") from None


def _client(address: str):  # type: ignore[no-untyped-def]
    from distributed import Client, LocalCluster

    if address == "local":
        # Task errors are reported once, as one line, by the command; the workers' own logs would repeat them.
        cluster = LocalCluster(
            n_workers=os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.CRITICAL,
        )
        return Client(cluster), cluster
    try:
        return Client(address, timeout="20s"), None
    except OSError as exc:
        raise GriefguardError(f"cannot reach the Dask scheduler at {address}: {exc}") from None


def classify_files(
    files: Sequence[str],
    output: str | Path,
    *,
    scheduler: str = "local",
    output_format: str = "parquet",
    text_column: str = "text",
    input_format: str = "auto",
    model: str | Path | None = None,
    threshold: float | None = None,
    only_flagged: bool = False,
    replace_output: bool = False,
) -> dict[str, int]:
    """Read CSV/JSON Lines/Parquet files (globs allowed), score them on a Dask cluster and write Parquet or JSON
    Lines partitions into the folder `output`, which is written only when every partition is written.

    An existing non-empty folder is replaced only with `replace_output`; the working folder, or a folder holding
    the inputs, never is. The new folder follows the umask. Returns the counts: replies read, scored and flagged."""
    if output_format not in ("parquet", "jsonl"):
        raise GriefguardError(f"--dask writes parquet or jsonl partitions, not {output_format}")
    output = Path(output)
    if output.exists() and not output.is_dir():
        raise OutputError(f"cannot write to {output}: it is a file; --dask writes a folder of partitions")
    resolved = output.resolve()
    if resolved == Path.cwd().resolve() or any(
        resolved in Path(f).resolve().parents for f in files if not any(c in f for c in "*?[")
    ):
        raise OutputError(f"cannot write to {output}: it is the working folder or holds the inputs; name a new folder")
    if output.is_dir() and any(output.iterdir()) and not replace_output:
        raise OutputError(
            f"cannot write to {output}: the folder exists and is not empty; pass --replace-output to replace it"
        )
    if not output.parent.is_dir():
        raise OutputError(f"cannot write to {output}: the folder {output.parent} does not exist")
    client, cluster = _client(scheduler)
    try:
        frame = _read(files, input_format, text_column)
        scored = classify(frame, text_column, model, threshold)
        kept = scored[scored["flagged"]] if only_flagged else scored
        staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=output.parent))
        os.chmod(staging, 0o777 & ~current_umask())  # mkdtemp makes it 0700; the result is an ordinary folder
        try:
            if output_format == "parquet":
                write = kept.to_parquet(staging, compute=False, write_index=False)
            else:
                write = kept.to_json(str(staging / "part-*.jsonl"), orient="records", lines=True, compute=False)
            try:
                with warnings.catch_warnings():
                    # The JSON writer is a delayed graph computed with expressions in one pass; dask says it
                    # materialises the expressions to do so, which is what one pass over the input needs.
                    warnings.filterwarnings("ignore", message="Computing mixed collections", category=UserWarning)
                    counts = dask.compute(write, scored["label"].count(), scored["flagged"].sum(), scored.shape[0])
            except GriefguardError:
                raise
            except (ValueError, TypeError, KeyError, OSError) as exc:  # raised on the workers, by the inputs
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise InputError(f"scoring on Dask failed: {first}") from None
            _, n_scored, n_flagged, n_read = counts
            if output.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{output.name}.old.", dir=output.parent))
                os.replace(output, old / output.name)
                os.replace(staging, output)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(staging, output)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return {"read": int(n_read), "scored": int(n_scored), "flagged": int(n_flagged)}


def output_format_for(output: Path, fmt: str) -> str:
    """The partition format of `--dask --output`: --format when given, else the folder's extension (.parquet or
    none: Parquet; .jsonl or .ndjson: JSON Lines); any other extension, or a format that contradicts it, is refused."""
    suffix = output.suffix.lower()
    by_suffix = {"": "parquet", **{e: f for e, f in EXTENSIONS.items() if f in ("parquet", "jsonl")}}
    if suffix not in by_suffix:
        raise GriefguardError(
            f"--dask writes a folder of Parquet or JSON Lines partitions; name it without an extension, or .parquet "
            f"or .jsonl (not {suffix})"
        )
    wanted = {"auto": by_suffix[suffix], "jsonl": "jsonl", "parquet": "parquet"}.get(fmt)
    if wanted is None:
        raise GriefguardError(f"--dask writes parquet or jsonl partitions, not {fmt}")
    if suffix and wanted != by_suffix[suffix]:
        raise GriefguardError(f"--format {fmt} contradicts the output's extension {suffix}")
    return wanted
