"""Scoring on Dask: on a real LocalCluster of two worker processes, the same scores as the CLI, the model loaded once
per worker, input order kept within partitions, and clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from conftest import DATA, MODEL
from distributed import Client, LocalCluster

import griefguard.dask as gdask
from griefguard.errors import InputError
from griefguard.scorer import load_scorer

pytestmark = pytest.mark.slow  # every test here starts a Dask cluster


@pytest.fixture(scope="module")
def client() -> Client:
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with Client(cluster) as c:
        yield c  # type: ignore[misc]
    cluster.close()


@pytest.fixture(scope="module")
def replies() -> pd.DataFrame:
    texts = pd.read_csv(DATA / "realistic" / "test.csv")["text"].tolist()
    return pd.DataFrame({"id": range(len(texts)), "text": texts})


def test_classify_adds_the_columns_with_the_scorers_values(client: Client, replies: pd.DataFrame) -> None:
    frame = dd.from_pandas(replies, npartitions=6)
    scored = gdask.classify(frame, text_column="text", model=MODEL).compute()
    assert scored["id"].tolist() == replies["id"].tolist(), "input order is kept"
    scorer = load_scorer(MODEL)
    predictions = scorer.classify(replies["text"].tolist())
    assert scored["label"].tolist() == [p.label for p in predictions]
    assert np.abs(scored["score"].to_numpy() - np.array([p.score for p in predictions])).max() < 1e-12
    assert scored["flagged"].tolist() == [p.flagged for p in predictions]
    assert {"p_critical", "p_supportive", "p_neutral", "coverage"} <= set(scored.columns)


def test_the_model_is_loaded_once_per_worker(client: Client, replies: pd.DataFrame) -> None:
    client.run(lambda: setattr(gdask, "loads", 0) or gdask._scorers.clear())
    frame = dd.from_pandas(pd.concat([replies] * 3, ignore_index=True), npartitions=24)
    gdask.classify(frame, model=MODEL).compute()
    loads = client.run(lambda: gdask.loads)
    assert sorted(loads.values()) == [1, 1], "each worker loaded the model exactly once"


def test_missing_text_is_not_scored(client: Client) -> None:
    frame = dd.from_pandas(pd.DataFrame({"text": ["so sorry", None, "fake"]}, dtype=object), npartitions=1)
    scored = gdask.classify(frame, model=MODEL).compute()
    assert pd.isna(scored["label"].iloc[1]) and np.isnan(scored["score"].iloc[1]) and not scored["flagged"].iloc[1]
    with pytest.raises(InputError, match="no 'body' column"):
        gdask.classify(frame, text_column="body", model=MODEL)


def test_the_dask_command_matches_the_cli(tmp_path: Path, replies: pd.DataFrame) -> None:
    source = tmp_path / "in"
    source.mkdir()
    bounds = np.linspace(0, len(replies), 4).astype(int)
    for i in range(3):
        replies.iloc[bounds[i] : bounds[i + 1]].to_csv(source / f"part{i}.csv", index=False)
    out = tmp_path / "scored"
    done = subprocess.run(
        [
            *[sys.executable, "-m", "griefguard", "classify"],
            *[
                str(source / "*.csv"),
                "--dask",
                "local",
                "--output",
                str(out),
                "--format",
                "jsonl",
                "--model",
                str(MODEL),
            ],
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert f"read {len(replies)}, scored {len(replies)}" in done.stderr
    rows = [
        json.loads(line)
        for f in sorted(out.glob("*.jsonl"), key=lambda p: int(p.stem.split("-")[-1]))
        for line in f.read_text().splitlines()
    ]
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "griefguard",
            "classify",
            *sorted(str(p) for p in source.glob("*.csv")),
            "-f",
            "jsonl",
            "--model",
            str(MODEL),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    expected = [json.loads(line) for line in cli.stdout.splitlines()]
    # (The CLI keeps CSV fields as text; Dask reads the id column as numbers.)
    assert [str(r["id"]) for r in rows] == [r["id"] for r in expected] == [str(i) for i in replies["id"]]
    assert [r["score"] for r in rows] == pytest.approx([r["score"] for r in expected], abs=1e-6)
    assert [r["label"] for r in rows] == [r["label"] for r in expected]


def test_the_dask_command_errors(tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "griefguard", "classify", *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )

    (tmp_path / "a.csv").write_text("text\nso sorry\n")
    done = run(str(tmp_path / "a.csv"), "--dask", "local")
    assert done.returncode == 2 and "--dask needs --output FOLDER" in done.stderr
    done = run(str(tmp_path / "a.csv"), "--dask", "tcp://127.0.0.1:1", "--output", str(tmp_path / "o"))
    assert done.returncode == 2 and "cannot reach the Dask scheduler" in done.stderr and "Traceback" not in done.stderr
    (tmp_path / "b.csv").write_text("comment\nso sorry\n")
    done = run(str(tmp_path / "b.csv"), "--dask", "local", "--output", str(tmp_path / "o"))
    assert done.returncode == 2 and "no 'text' column" in done.stderr and "Traceback" not in done.stderr
    assert "choose one with --text-column" in done.stderr, "the command names its option, not the library argument"
    assert not (tmp_path / "o").exists(), "no partial output"
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "precious.txt").write_text("mine")
    for output, message in (
        (kept, "the folder exists and is not empty; pass --replace-output"),
        (tmp_path / "x.csv", "name it without an extension, or .parquet or .jsonl"),
        (tmp_path, "it is the working folder or holds the inputs"),
    ):
        done = run(str(tmp_path / "a.csv"), "--dask", "local", "--output", str(output))
        assert done.returncode == 2 and message in done.stderr, done.stderr
    done = run(str(tmp_path / "a.csv"), "--dask", "local", "--output", str(tmp_path / "y.parquet"), "--format", "jsonl")
    assert done.returncode == 2 and "contradicts the output's extension .parquet" in done.stderr
    assert (kept / "precious.txt").read_text() == "mine", "nothing was replaced"


def test_the_extension_decides_the_format_and_the_folder_follows_the_umask(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("text\nso sorry\nfake tears\n")
    out = tmp_path / "scored.jsonl"
    command = (
        f"umask 027 && '{sys.executable}' -m griefguard classify '{tmp_path / 'a.csv'}' --dask local --output '{out}'"
    )
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stderr
    parts = sorted(out.glob("*.jsonl"))
    assert parts and not list(out.glob("*.parquet")), "a .jsonl folder holds JSON Lines partitions"
    assert sum(len(p.read_text().splitlines()) for p in parts) == 2
    assert (out.stat().st_mode & 0o777) == 0o750
    again = subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=False, timeout=300)
    assert again.returncode == 2 and "--replace-output" in again.stderr
    replaced = subprocess.run(
        ["bash", "-c", command + " --replace-output"], capture_output=True, text=True, check=False, timeout=300
    )
    assert replaced.returncode == 0, replaced.stderr
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no staging or old folders left"


def test_a_parent_column_reads_replies_under_their_parents(client: Client, small_thread_model: Path) -> None:
    from conftest import CRITIC, SUPPORTER

    frame = pd.DataFrame(
        {
            "text": ["agreed", "agreed", "agreed", None],
            "parent": [CRITIC, SUPPORTER, None, CRITIC],
            "post": ["Theo, 9", None, "", "x"],
        }
    )
    scored = gdask.classify(dd.from_pandas(frame, npartitions=2), model=small_thread_model).compute()
    scorer = load_scorer(small_thread_model)
    expected = scorer.predict(["agreed"] * 3, parents=[CRITIC, SUPPORTER, ""], posts=["Theo, 9", "", ""])
    assert scored["score"].tolist()[:3] == [p.score for p in expected]
    assert scored["parent_label"].tolist()[:2] == ["critical", "supportive"]
    assert pd.isna(scored["parent_label"].iloc[2]) and np.isnan(scored["score_alone"].iloc[2])
    assert pd.isna(scored["label"].iloc[3]) and not scored["flagged"].iloc[3], "a missing reply is not scored"
