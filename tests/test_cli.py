"""`griefguard classify`, `evaluate`, `info`, `check-data`: formats, streams, exit codes, and bad input without
tracebacks (each rough edge a new user hit has a test here)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import DATA, MODEL, ROOT, write_csv

from griefguard.cli import main

REPLIES = [
    "So sorry for your loss ❤️",
    "",
    "She did this for likes",
    "   ",
    "The people shaming her are vile. Rest easy little one.",
]
GRIEFGUARD = [sys.executable, "-m", "griefguard"]
THRESHOLD = json.loads((MODEL.with_suffix(".json")).read_text())["threshold"]


def run(*args: str, input: str | bytes | None = None, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*GRIEFGUARD, *args],
        input=input,
        capture_output=True,
        text=not isinstance(input, bytes),
        check=False,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
    )


def one_line_error(result: subprocess.CompletedProcess, code: int = 2) -> str:
    """The error line of a run that must fail with `code`, one line on stderr and no traceback."""
    stderr = result.stderr if isinstance(result.stderr, str) else result.stderr.decode()
    assert result.returncode == code, stderr
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    return lines[0]


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture
def replies(tmp_path: Path) -> Path:
    path = tmp_path / "replies.txt"
    path.write_text("\n".join(REPLIES) + "\n", encoding="utf-8")
    return path


# -- classify: formats and inputs ------------------------------------------------------------------------


def test_text_file_one_reply_per_non_empty_line(replies: Path) -> None:
    result = run("classify", str(replies), "--format", "jsonl")
    assert result.returncode == 0, result.stderr
    rows = jsonl(result.stdout)
    assert [r["line"] for r in rows] == [1, 3, 5]
    assert [r["text"] for r in rows] == [REPLIES[0], REPLIES[2], REPLIES[4]]
    for r in rows:
        assert list(r)[:8] == ["file", "line", "score", "label", "flagged", "coverage", "probabilities", "text"]
        assert r["label"] in ("critical", "supportive", "neutral") and 0 <= r["score"] <= 1
        assert r["score"] == r["probabilities"]["critical"]
        assert r["flagged"] == (r["score"] >= THRESHOLD), "flagged exactly when the score reaches the threshold"
    assert rows[1]["flagged"] and not rows[0]["flagged"]
    assert "read 3, scored 3, flagged 1, skipped 0" in result.stderr


def test_csv_and_tsv_output_flatten_the_probabilities(replies: Path) -> None:
    out = run("classify", str(replies), "--format", "csv").stdout.splitlines()
    assert out[0] == "file,line,score,label,flagged,coverage,p_critical,p_supportive,p_neutral,text" and len(out) == 4
    tsv = run("classify", str(replies), "--format", "tsv").stdout.splitlines()
    assert tsv[0].split("\t")[:3] == ["file", "line", "score"]


def test_whole_file_and_stdin(replies: Path) -> None:
    rows = jsonl(run("classify", str(replies), "--whole-file", "-f", "jsonl").stdout)
    assert len(rows) == 1 and rows[0]["line"] == 1 and "likes" in rows[0]["text"]
    rows = jsonl(run("classify", "-", "-f", "jsonl", input="fake\nso sorry\n").stdout)
    assert [(r["file"], r["line"], r["text"]) for r in rows] == [("<stdin>", 1, "fake"), ("<stdin>", 2, "so sorry")]


def test_csv_input_keeps_other_columns(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text(
        'id,comment,author\n7,fake tears for the camera,bob\n8,"Sending love, Maria",ann\n', encoding="utf-8"
    )
    rows = jsonl(run("classify", str(path), "--text-column", "comment", "-f", "jsonl").stdout)
    assert [(r["id"], r["author"], r["line"]) for r in rows] == [("7", "bob", 2), ("8", "ann", 3)]
    out = run("classify", str(path), "--text-column", "comment", "-f", "csv").stdout.splitlines()
    assert out[0].endswith(",text,id,author")


def test_a_neutral_reply_is_labelled_neutral_and_not_flagged() -> None:
    rows = jsonl(run("classify", "-", "-f", "jsonl", input="What camera did you use for these photos?\n").stdout)
    assert rows[0]["label"] == "neutral" and not rows[0]["flagged"]


def test_csv_without_text_column_lists_its_columns(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("id,comment\n1,hello\n", encoding="utf-8")
    assert "in.csv: no 'text' column; it has: id, comment" in one_line_error(run("classify", str(path)))


def test_jsonl_input_bad_records_are_reported_in_plain_words(tmp_path: Path) -> None:
    """Item 5: "at at column", "is a int", "(fields: none)" were the old wording."""
    path = tmp_path / "in.jsonl"
    path.write_text(
        '{"text": "fake", "id": 1}\n{not json\n{"id": 3}\n{"text": 5}\n{"text": "bad\tcontrol"}\n[1, 2]\n'
        '{"text": "so sorry", "id": 7}\n',
        encoding="utf-8",
    )
    result = run("classify", str(path), "-f", "jsonl")
    assert result.returncode == 0
    assert [r["id"] for r in jsonl(result.stdout)] == [1, 7]
    assert (
        "in.jsonl:2: skipped: malformed JSON: expecting property name enclosed in double quotes at column 2"
        in result.stderr
    )
    assert "in.jsonl:3: skipped: field 'text' is missing (its fields are id)" in result.stderr
    assert (
        "in.jsonl:4: skipped: field 'text' is a number, not a string (the record has no other fields)" in result.stderr
    )
    assert "in.jsonl:5: skipped: malformed JSON: invalid control character at column 14" in result.stderr
    assert "in.jsonl:6: skipped: not a JSON object but an array" in result.stderr
    assert " at at " not in result.stderr and "a int" not in result.stderr
    assert "read 7, scored 2" in result.stderr and "skipped 5" in result.stderr
    stopped = run("classify", str(path), "-f", "jsonl", "--bad-lines", "stop")
    assert "in.jsonl:2: malformed JSON" in one_line_error(stopped)


def test_invalid_utf8_is_replaced_and_counted_never_dropped(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("café was her favourite place\n".encode("latin-1") + b"so sorry\n")
    result = run("classify", str(path), "-f", "jsonl")
    rows = jsonl(result.stdout)
    assert len(rows) == 2 and "\ufffd" in rows[0]["text"]
    assert "latin1.txt: 1 line(s) were not valid UTF-8" in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty input"), (b"  \n\n", "empty input"), (b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR", "binary file")],
)
def test_empty_and_binary_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "in.txt"
    path.write_bytes(content)
    assert message in one_line_error(run("classify", str(path)))


def test_missing_file_and_directory_input(tmp_path: Path, replies: Path) -> None:
    result = run("classify", str(replies), str(tmp_path / "nope.txt"))
    assert "nope.txt: no such file" in one_line_error(result)
    assert result.stdout == "", "inputs are checked before any output"
    assert "is a directory" in one_line_error(run("classify", str(tmp_path)))


def test_csv_on_stdin_without_input_format_warns(tmp_path: Path) -> None:
    """Item 8: a CSV piped in is read as lines unless --input-format csv says otherwise, and the tool says so."""
    csv_text = "id,text\n1,so sorry for your loss\n2,fake tears\n"
    result = run("classify", "-", "-f", "jsonl", input=csv_text)
    assert result.returncode == 0
    assert "the first line looks like a CSV header" in result.stderr and "--input-format csv" in result.stderr
    rows = jsonl(run("classify", "-", "-f", "jsonl", "--input-format", "csv", input=csv_text).stdout)
    assert [(r["id"], r["text"]) for r in rows] == [("1", "so sorry for your loss"), ("2", "fake tears")]


# -- classify: outputs --------------------------------------------------------------------------------------


def test_output_file_is_written_atomically(tmp_path: Path, replies: Path) -> None:
    out = tmp_path / "out.csv"
    result = run("classify", str(replies), "--output", str(out))
    assert result.returncode == 0 and result.stdout == ""
    assert out.read_text().startswith("file,line,score"), "format follows the output's extension"
    before = out.read_bytes()
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine"}\n{oops\n', encoding="utf-8")
    one_line_error(run("classify", str(bad), "--output", str(out), "--bad-lines", "stop"))
    assert out.read_bytes() == before, "a failed run leaves the previous output untouched"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["out.csv", "bad.jsonl", "replies.txt"])


def test_output_to_a_directory_is_one_line(tmp_path: Path, replies: Path) -> None:
    """Item 1: was 44 lines ending in IsADirectoryError, exit 1."""
    folder = tmp_path / "adir"
    folder.mkdir()
    assert "cannot write to" in one_line_error(run("classify", str(replies), "--output", str(folder)))
    assert list(folder.iterdir()) == []


def test_output_into_a_missing_folder_is_refused_not_created(tmp_path: Path, replies: Path) -> None:
    """Item 7: the folder used to be created silently."""
    target = tmp_path / "nonexistent_dir" / "x.jsonl"
    assert "does not exist" in one_line_error(run("classify", str(replies), "--output", str(target)))
    assert not target.parent.exists()


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_is_one_line(replies: Path) -> None:
    """Item 2: ended in OSError: [Errno 28]."""
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [*GRIEFGUARD, "classify", str(replies), "--format", "jsonl"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    assert "disk full" in one_line_error(result)


def test_saved_table_keeps_the_whole_reply(tmp_path: Path) -> None:
    """Item 6: --output out.txt truncated the replies."""
    long_reply = "Thomas is beautiful and so loved, and this photo of him on the beach with his sister is perfect"
    path = tmp_path / "in.txt"
    path.write_text(long_reply + "\n", encoding="utf-8")
    out = tmp_path / "out.txt"
    assert run("classify", str(path), "--output", str(out)).returncode == 0
    assert long_reply in out.read_text(encoding="utf-8") and "…" not in out.read_text(encoding="utf-8")


def test_terminal_table_keeps_short_paths_whole() -> None:
    """Item 6: the where column truncated even short paths at 200 columns."""
    import io

    from griefguard.writing import TableWriter

    stream = io.StringIO()
    row = {
        "file": "examples/replies.txt",
        "line": 1,
        "score": 0.5,
        "label": "neutral",
        "flagged": False,
        "coverage": 1.0,
        "text": "x " * 200,
    }
    TableWriter(stream, width=200, where_width=len("examples/replies.txt") + 7).write(row)
    line = stream.getvalue().splitlines()[1]
    assert "examples/replies.txt:1" in line and len(line) <= 200


def test_threshold_only_flagged_and_fail_on_flag(replies: Path) -> None:
    assert all(r["flagged"] for r in jsonl(run("classify", str(replies), "-f", "jsonl", "--threshold", "0").stdout))
    flagged = jsonl(run("classify", str(replies), "-f", "jsonl", "--only-flagged").stdout)
    assert [r["text"] for r in flagged] == ["She did this for likes"]
    assert run("classify", str(replies), "--fail-on-flag").returncode == 1
    assert run("classify", str(replies), "--fail-on-flag", "--threshold", "1").returncode == 0


def test_explain_adds_terms_for_and_against_and_the_sentence(replies: Path) -> None:
    rows = jsonl(run("classify", str(replies), "-f", "jsonl", "--explain").stdout)
    assert rows[1]["reasons"] and all(w > 0 for _, w in rows[1]["reasons"])
    assert all(w < 0 and label in ("supportive", "neutral") for _, w, label in rows[0]["against"])
    assert rows[2]["sentence"] in ("The people shaming her are vile.", "Rest easy little one.")
    from griefguard.scorer import load_scorer

    expected = load_scorer().explain(REPLIES[4]).fields()["explained"]
    assert rows[2]["explained"] == expected == ("sentence" if load_scorer().model.sentence_rule.active else "reply")
    table = run("classify", str(replies), "-f", "table", "--explain").stdout
    assert "why (reply):" in table and "against:" in table


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_piped_into_head_ends_quietly_with_exit_0(tmp_path: Path, jobs: str) -> None:
    """A closed pipe is not a flagged reply: the exit code is 0, never the 1 of --fail-on-flag."""
    path = tmp_path / "many.txt"
    path.write_text("fake tears for the camera\n" * 50000, encoding="utf-8")
    command = " ".join(f"'{a}'" for a in GRIEFGUARD)
    result = subprocess.run(
        ["bash", "-c", f"{command} classify '{path}' -f jsonl -j {jobs} | head -n 2; exit ${{PIPESTATUS[0]}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert len(result.stdout.splitlines()) == 2
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "Broken pipe" not in result.stderr


# -- usage errors, version, help ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["classify", "x.txt", "--threshold", "1.5"], "'--threshold'"),
        (["classify", "x.txt", "--jobs", "0"], "'--jobs'"),
        (["classify", "x.txt", "--format", "pdf"], "'--format'"),
        (["classify"], "Missing argument"),
        (["classifyy", "x.txt"], "No such command"),
        (["classify", "x.txt", "--no-such-option"], "No such option"),
    ],
)
def test_usage_errors_are_one_plain_line(args: list[str], expected: str) -> None:
    """Item 4: usage errors were 5-6-line boxes."""
    line = one_line_error(run(*args))
    assert expected in line and "│" not in line and "╭" not in line


def test_version() -> None:
    from griefguard import __version__

    result = run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"griefguard {__version__}"


def test_help_fits_80_columns_without_cutting_option_names() -> None:
    """Item 10: the help truncated option names at 80 columns (`--no-only-flagg…`)."""
    result = run("classify", "--help", env={"COLUMNS": "80", "TERM": "dumb"})
    assert result.returncode == 0
    for name in ("--only-flagged", "--fail-on-flag", "--input-format", "--bad-lines", "--text-column", "--dask"):
        assert name in result.stdout, name
    assert "--no-only" not in result.stdout
    assert all(len(line) <= 80 for line in result.stdout.splitlines())


def test_main_is_the_error_boundary_in_process(replies: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["classify", str(replies), "--threshold", "7"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1


# -- models ------------------------------------------------------------------------------------------------


def test_bad_models(tmp_path: Path, replies: Path) -> None:
    """Item 11: the missing-model error suggested `python train.py` and did not mention GRIEFGUARD_MODEL."""
    line = one_line_error(run("classify", str(replies), "--model", str(tmp_path / "none.npz")))
    assert "--model" in line and "GRIEFGUARD_MODEL" in line and "train.py" not in line
    line = one_line_error(run("classify", str(replies), env={"GRIEFGUARD_MODEL": str(tmp_path / "gone.npz")}))
    assert "$GRIEFGUARD_MODEL names the model file" in line and "gone.npz, which does not exist" in line
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(MODEL.read_bytes()[:1000])
    assert "corrupt or truncated" in one_line_error(run("classify", str(replies), "--model", str(corrupt)))


# -- evaluate, info, check-data ----------------------------------------------------------------------------


def test_info() -> None:
    result = run("info")
    assert result.returncode == 0 and "threshold" in result.stdout and "ROC AUC" in result.stdout
    assert "held-out real source" in result.stdout
    card = json.loads(run("info", "--json").stdout)
    assert card["labels"] == ["critical", "supportive", "neutral"]


def test_evaluate_prints_and_saves_the_metrics(tmp_path: Path) -> None:
    out = tmp_path / "metrics.json"
    result = run("evaluate", str(DATA / "test.csv"), "--output", str(out))
    assert result.returncode == 0 and "flag macro F1" in result.stdout and "accuracy: negation" in result.stdout
    card = json.loads(MODEL.with_suffix(".json").read_text())
    assert json.loads(out.read_text())["roc_auc"] == card["metrics"]["tests"]["test"]["roc_auc"]


def test_evaluate_accepts_a_moderators_own_kinds_or_none(tmp_path: Path) -> None:
    """Item 9: `unknown kind 'plain_support'` used to stop it."""
    own = write_csv(
        tmp_path / "own.csv",
        [
            ("so sorry", "supportive", "plain_support"),
            ("fake tears", "critical", "troll"),
            ("nice pic", "neutral", "x"),
        ],
    )
    result = run("evaluate", str(own))
    assert result.returncode == 0 and "accuracy: plain_support" in result.stdout
    bare = write_csv(tmp_path / "bare.csv", [("so sorry", "supportive"), ("fake tears", "critical")], ("text", "label"))
    result = run("evaluate", str(bare))
    assert result.returncode == 0 and "accuracy:" not in result.stdout


def test_evaluate_reads_json_lines(tmp_path: Path) -> None:
    """Item 8: evaluate read a JSONL file's first line as a CSV header."""
    path = tmp_path / "labeled.jsonl"
    path.write_text('{"text": "so sorry", "label": "supportive"}\n{"text": "fake tears", "label": "critical"}\n')
    result = run("evaluate", str(path))
    assert result.returncode == 0 and "replies" in result.stdout


def test_evaluate_errors_lists_the_misclassified_rows(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "l.csv", [("so sorry for your loss", "critical"), ("fake tears", "critical")], ("text", "label")
    )
    result = run("evaluate", str(path), "--errors")
    assert result.returncode == 0
    assert "1 misclassified of 2" in result.stdout and "so sorry for your loss" in result.stdout


def test_evaluate_bad_files(tmp_path: Path) -> None:
    bad = write_csv(tmp_path / "bad.csv", [("hello", "maybe")], ("text", "label"))
    assert "bad.csv:2: unknown label 'maybe'" in one_line_error(run("evaluate", str(bad)))
    assert "no such file" in one_line_error(run("evaluate", str(tmp_path / "nope.csv")))


def test_check_data_lists_counts_and_every_problem(tmp_path: Path) -> None:
    result = run("check-data", str(DATA / "train.csv"), str(DATA / "test.csv"))
    assert result.returncode == 0 and "label: critical" in result.stdout
    assert all(len(line) <= 100 for line in result.stdout.splitlines()), "fits a 100-column terminal"
    bad = write_csv(tmp_path / "bad.csv", [("so sorry", "supportive"), ("So  sorry", "supportive")], ("text", "label"))
    result = run("check-data", str(bad))
    assert result.returncode == 2 and "bad.csv:3: duplicate of line 2" in result.stderr
    mapped = write_csv(
        tmp_path / "ours.csv", [("so sorry", "supportive"), ("fake", "critical")], ("comment", "verdict")
    )
    result = run("check-data", str(mapped), "--text-column", "comment", "--label-column", "verdict")
    assert result.returncode == 0 and re.search(r"label: critical +1 \(50%\)", result.stdout)


# -- the installed command, jobs and signals, in real processes ---------------------------------------------

INSTALLED = shutil.which("griefguard") or str(Path(sys.executable).with_name("griefguard"))


def test_installed_command_and_python_m(replies: Path) -> None:
    a = subprocess.run(
        [INSTALLED, "classify", str(replies), "-f", "jsonl"], capture_output=True, text=True, check=False
    )
    b = run("classify", str(replies), "-f", "jsonl")
    assert a.returncode == b.returncode == 0, a.stderr + b.stderr
    assert a.stdout == b.stdout and len(jsonl(a.stdout)) == 3


def test_jobs_keep_input_order(tmp_path: Path) -> None:
    lines = (DATA / "realistic" / "test.csv").read_text(encoding="utf-8").splitlines()[1:]
    path = tmp_path / "many.txt"
    path.write_text("\n".join(lines * 4) + "\n", encoding="utf-8")
    one = run("classify", str(path), "-f", "jsonl")
    two = run("classify", str(path), "-f", "jsonl", "-j", "2")
    assert one.returncode == two.returncode == 0
    assert one.stdout == two.stdout and len(one.stdout.splitlines()) == len([x for x in lines * 4 if x.strip()])


def _start(args: list[str], tmp_path: Path) -> subprocess.Popen[str]:
    path = tmp_path / "many.txt"
    path.write_text("she only posted this for attention\n" * 600000, encoding="utf-8")
    return subprocess.Popen([*GRIEFGUARD, "classify", str(path), *args], stderr=subprocess.PIPE, text=True)


def _wait_for_temporary(tmp_path: Path, name: str) -> None:
    deadline = time.time() + 60
    while time.time() < deadline and not any(p.name.startswith(f".{name}.") for p in tmp_path.iterdir()):
        time.sleep(0.05)
    time.sleep(0.5)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_exits_130_quickly_without_partial_output(tmp_path: Path, jobs: str) -> None:
    """Item 3: with --jobs 2, Ctrl-C printed 81 lines of worker tracebacks, and SIGINT to the parent alone hung."""
    out = tmp_path / "out.jsonl"
    out.write_text("previous\n")
    proc = _start(["-o", str(out), "--jobs", jobs], tmp_path)
    _wait_for_temporary(tmp_path, "out.jsonl")
    sent = time.time()
    proc.send_signal(signal.SIGINT)  # to the parent only, as `timeout -s INT` does
    _, err = proc.communicate(timeout=30)
    assert time.time() - sent < 5, "the parent and its workers stop promptly"
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.strip().splitlines() == [f"error: interrupted; {out} was left as it was"]
    assert out.read_text() == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["many.txt", "out.jsonl"], "no temporary file left"


def test_sigterm_and_timeout_int_end_a_jobs_run(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    path = tmp_path / "many.txt"
    path.write_text("she only posted this for attention\n" * 600000, encoding="utf-8")
    started = time.time()
    result = subprocess.run(
        [
            "timeout",
            "--preserve-status",
            "-s",
            "INT",
            "3",
            *GRIEFGUARD,
            "classify",
            str(path),
            "-o",
            str(out),
            "-j",
            "2",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert time.time() - started < 10
    assert result.returncode == 130 and "Traceback" not in result.stderr
    assert not out.exists()
    proc = _start(["-o", str(out), "-j", "2"], tmp_path)
    _wait_for_temporary(tmp_path, "out.jsonl")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err
    assert not out.exists()


def test_lean_install_scores_without_scikit_learn_or_scipy(replies: Path) -> None:
    """Item 12: the scoring path runs with scikit-learn and scipy made unimportable."""
    code = (
        "import sys\n"
        "for name in ('sklearn', 'scipy', 'joblib'):\n"
        "    sys.modules[name] = None\n"
        "from griefguard.cli import main\n"
        f"main(['classify', {str(replies)!r}, '-f', 'jsonl'])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert len(jsonl(result.stdout)) == 3
    code = code.replace(f"['classify', {str(replies)!r}, '-f', 'jsonl']", "['train', '--model', '/nonexistent/m.npz']")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 2 and 'pip install "griefguard[train]"' in result.stderr


def test_declared_dependencies_cover_every_import() -> None:
    """Every third-party module the package imports is declared, and the scoring path imports only the base ones."""
    import ast
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    def names(requirements: list[str]) -> set[str]:
        return {r.split(";")[0].split(">")[0].split("=")[0].split("[")[0].strip().lower() for r in requirements}

    base = names(project["dependencies"])
    assert base == {"numpy", "typer", "rich"}, "scoring needs these only"
    declared = base | {n for extra in project["optional-dependencies"].values() for n in names(extra)}
    distribution = {"sklearn": "scikit-learn", "yaml": "pyyaml"}  # import name -> distribution name
    stdlib = set(sys.stdlib_module_names)
    found: dict[str, set[str]] = {}
    at_import: dict[str, set[str]] = {}  # imported when the module is imported (not inside a function)
    package = ROOT / "src" / "griefguard"
    for path in package.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            modules = []
            if isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            for module in modules:
                top = module.split(".")[0]
                if top not in stdlib and top not in ("griefguard", "__future__"):
                    name = distribution.get(top, top).lower()
                    found.setdefault(name, set()).add(path.relative_to(package).as_posix())
                    if node in tree.body:
                        at_import.setdefault(name, set()).add(path.relative_to(package).as_posix())
    assert {"numpy", "typer", "fastapi", "scikit-learn", "dask"} <= set(found), "the scan finds the imports"
    assert set(found) <= declared, f"undeclared: {set(found) - declared}"
    scoring = {"scorer.py", "engine.py", "normalize.py", "model_file.py", "thread.py", "reading.py", "writing.py"}
    for module, files in at_import.items():
        assert not files & scoring or module in base, f"{module} is imported on the scoring path by {files & scoring}"


# -- threads -------------------------------------------------------------------------------------------------

THREAD_EXPORT = (
    "id,parent_id,text,post\n"
    '3,1,"seriously, who raised you? she just lost her son",We lost our Eli on Tuesday.\n'
    "1,,she only posted this for attention,We lost our Eli on Tuesday.\n"
    "2,1,couldn't agree more,We lost our Eli on Tuesday.\n"
    "4,99,agreed,We lost our Eli on Tuesday.\n"
)


def _thread_scores(stdout: str) -> dict[str, dict]:
    return {row["id"]: row for row in map(json.loads, stdout.splitlines())}


def test_a_thread_export_is_read_under_its_parents_in_any_order(tmp_path: Path, small_thread_model: Path) -> None:
    from griefguard.scorer import load_scorer

    path = tmp_path / "thread.csv"
    path.write_text(THREAD_EXPORT, encoding="utf-8")
    result = run("classify", str(path), "--model", str(small_thread_model), "--format", "jsonl")
    assert result.returncode == 0, result.stderr
    rows = _thread_scores(result.stdout)
    scorer = load_scorer(small_thread_model)
    critic = "she only posted this for attention"
    post = "We lost our Eli on Tuesday."
    assert rows["2"]["score"] == round(scorer.score("couldn't agree more", parent=critic, post=post), 6)
    assert rows["2"]["parent_label"] == rows["3"]["parent_label"] == "critical"
    assert rows["3"]["score_alone"] == round(scorer.score("seriously, who raised you? she just lost her son"), 6)
    assert "parent_label" not in rows["1"], "a direct reply is read alone"
    assert "parent_label" not in rows["4"] and rows["4"]["score"] == round(scorer.score("agreed"), 6)
    assert "1 reply(s) name a parent_id that is not in the file" in result.stderr
    assert "2 read under the comment they answer" in result.stderr
    piped = run("classify", "-", "--input-format", "csv", "--model", str(small_thread_model), input=THREAD_EXPORT)
    assert _thread_scores(piped.stdout) == {k: {**v, "file": "<stdin>"} for k, v in rows.items()}
    assert not list(Path(os.environ.get("TMPDIR", "/tmp")).glob("griefguard-stdin-*")), "the spool is removed"


def test_parent_and_post_columns_and_their_options(tmp_path: Path, small_thread_model: Path) -> None:
    from conftest import CRITIC, SUPPORTER

    path = write_csv(
        tmp_path / "r.csv",
        [("agreed", CRITIC, "p"), ("agreed", SUPPORTER, "p"), ("agreed", "", "p")],
        ("reply", "answers", "on"),
    )
    args = ["--text-column", "reply", "--parent-column", "answers", "--post-column", "on", "--format", "csv"]
    result = run("classify", str(path), "--model", str(small_thread_model), *args)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    header = lines[0].split(",")
    assert header[:12] == [
        "file", "line", "score", "label", "flagged", "coverage", "p_critical", "p_supportive", "p_neutral", "text",
        "parent_label", "score_alone",
    ]  # fmt: skip
    labels = [line.split(",")[3] for line in lines[1:]]
    assert labels[:2] == ["critical", "supportive"] and lines[3].split(",")[10] == "", "no parent, no parent label"
    jsonl = tmp_path / "r.jsonl"
    jsonl.write_text(json.dumps({"text": "agreed", "parent": 5}) + "\n" + json.dumps({"text": "agreed"}) + "\n")
    result = run("classify", str(jsonl), "--model", str(small_thread_model))
    assert "r.jsonl:1: skipped: field 'parent' is a number, not a string" in result.stderr
    assert "read 2, scored 1, flagged" in result.stderr


def test_explain_shows_what_the_parent_did(tmp_path: Path, small_thread_model: Path) -> None:
    from conftest import CRITIC

    path = write_csv(tmp_path / "r.csv", [("agreed", CRITIC)], ("text", "parent"))
    table = run("classify", str(path), "--model", str(small_thread_model), "--explain", "--format", "table")
    assert "read under a critical comment, +" in table.stdout and "why (thread):" in table.stdout
    jsonl = run("classify", str(path), "--model", str(small_thread_model), "--explain", "--format", "jsonl")
    row = json.loads(jsonl.stdout)
    assert row["explained"] == "thread" and row["parent_effect"] > 0 and row["parent"] == CRITIC


def test_evaluate_reads_a_thread_file_under_its_parents(tmp_path: Path, small_thread_model: Path) -> None:
    from conftest import CRITIC, SUPPORTER, write_threads

    path = write_threads(
        tmp_path / "t.csv",
        [("p", CRITIC, "agreed", "critical", "echo_short"), ("p", SUPPORTER, "agreed", "supportive", "echo_short")],
    )
    result = run("evaluate", str(path), "--model", str(small_thread_model), "--output", str(tmp_path / "m.json"))
    assert result.returncode == 0, result.stderr
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["flag_accuracy"] == 1.0, "the same reply is right under both parents"


# -- where --output writes ---------------------------------------------------------------------------------


def test_output_to_a_named_pipe_is_written_through_not_replaced(tmp_path: Path, replies: Path) -> None:
    import stat
    import threading

    fifo = tmp_path / "queue"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text(encoding="utf-8")))
    reader.start()
    result = run("classify", str(replies), "--output", str(fifo), "--format", "jsonl")
    reader.join(timeout=30)
    assert result.returncode == 0, result.stderr
    assert len(received[0].splitlines()) == 3
    assert stat.S_ISFIFO(os.stat(fifo).st_mode), "the pipe is still a pipe"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["queue", "replies.txt"], "no temporary file left"


def test_output_through_a_symlink_replaces_its_target_and_keeps_the_link(tmp_path: Path, replies: Path) -> None:
    target = tmp_path / "real" / "scored.jsonl"
    target.parent.mkdir()
    target.write_text("old\n")
    target.chmod(0o640)
    link = tmp_path / "latest.jsonl"
    link.symlink_to(target)
    result = run("classify", str(replies), "--output", str(link))
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and link.resolve() == target.resolve()
    assert len(target.read_text().splitlines()) == 3 and (target.stat().st_mode & 0o777) == 0o640
    dangling = tmp_path / "new.jsonl"
    dangling.symlink_to(tmp_path / "real" / "fresh.jsonl")
    assert run("classify", str(replies), "--output", str(dangling)).returncode == 0
    assert dangling.is_symlink() and len((tmp_path / "real" / "fresh.jsonl").read_text().splitlines()) == 3


def test_a_new_output_file_follows_the_umask(tmp_path: Path, replies: Path) -> None:
    out = tmp_path / "scored.jsonl"
    result = subprocess.run(
        ["bash", "-c", f"umask 027 && {' '.join(GRIEFGUARD)} classify '{replies}' --output '{out}'"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (out.stat().st_mode & 0o777) == 0o640


def test_a_lone_surrogate_in_json_lines_is_replaced_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text('{"text": "so sorry \\ud800 for your loss", "who": "\\udc00x"}\n{"text": "fine"}\n')
    result = run("classify", str(path), "--format", "jsonl")
    assert result.returncode == 0, result.stderr
    first = json.loads(result.stdout.splitlines()[0])
    assert first["text"] == "so sorry \ufffd for your loss" and first["who"] == "\ufffdx"
    assert "1 line(s) were not valid UTF-8 (or held lone surrogates)" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unterminated_quote_is_reported_where_it_opened(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text('text,id\nhello,1\n"broken reply,2\nnext one,3\nlast,4\n', encoding="utf-8")
    result = run("classify", str(path), "--format", "jsonl")
    assert result.returncode == 0 and len(result.stdout.splitlines()) == 1
    assert "q.csv:3: skipped: unterminated quote: the quoted field opened on line 3 is never closed" in result.stderr
    assert "read 2, scored 1, flagged 0, skipped 1" in result.stderr
    stop = run("classify", str(path), "--bad-lines", "stop")
    assert "q.csv:3: unterminated quote" in one_line_error(stop)
    fine = tmp_path / "ok.csv"
    fine.write_text('text,id\n"a reply\nover two lines",1\nhe is 5" tall,2\n', encoding="utf-8")
    assert len(run("classify", str(fine), "--format", "jsonl").stdout.splitlines()) == 2, "legal quoting is kept"


def test_quiet_with_fail_on_flag_prints_nothing_and_sets_the_exit_code(tmp_path: Path) -> None:
    draft = tmp_path / "draft.txt"
    draft.write_text("fake tears for likes, delete this\n", encoding="utf-8")
    result = run("classify", str(draft), "--whole-file", "--fail-on-flag", "--quiet")
    assert (result.returncode, result.stdout, result.stderr) == (1, "", "")
    draft.write_text("So sorry for your loss, sending love\n", encoding="utf-8")
    assert run("classify", str(draft), "--whole-file", "--fail-on-flag", "--quiet").returncode == 0


def test_a_missing_model_named_by_the_environment_says_so(replies: Path) -> None:
    message = one_line_error(run("classify", str(replies), env={"GRIEFGUARD_MODEL": "/nowhere/m.npz"}))
    assert "$GRIEFGUARD_MODEL names the model file /nowhere/m.npz, which does not exist" in message
    assert "set $GRIEFGUARD_MODEL" not in message


def test_evaluate_sweep_helps_choose_a_threshold(tmp_path: Path) -> None:
    rows = [("fake tears for likes", "critical"), ("so sorry for your loss", "supportive")] + [
        (f"what time is the service number {i}", "neutral") for i in range(3)
    ]
    path = write_csv(tmp_path / "ours.csv", rows, ("text", "label"))
    result = run("evaluate", str(path), "--sweep", "--target-precision", "1")
    assert result.returncode == 0, result.stderr
    assert "threshold sweep (5 replies, 1 critical)" in result.stdout
    assert "0.50           1.000   1.000    20.0%" in result.stdout
    assert "the lowest threshold with precision >= 1: --threshold" in result.stdout
    from griefguard.dataset import load_labeled
    from griefguard.evaluation import threshold_sweep
    from griefguard.scorer import load_scorer

    sweep = threshold_sweep(load_scorer(), load_labeled(path), target_precision=1.0)
    best = sweep["lowest_threshold_reaching_it"]
    assert best["precision"] == 1.0 and best["recall"] == 1.0 and best["flagged"] == 0.2
    assert [r["threshold"] for r in sweep["sweep"]][:2] == [0.05, 0.1]


@pytest.mark.parametrize("no_color", [False, True])
def test_the_terminal_table_colours_flagged_replies_unless_no_color(tmp_path: Path, no_color: bool) -> None:
    import pty

    path = tmp_path / "r.txt"
    path.write_text("so sorry for your loss\nposting your dead son for likes is disgusting\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"} | ({"NO_COLOR": "1"} if no_color else {})
    leader, follower = pty.openpty()
    proc = subprocess.Popen([*GRIEFGUARD, "classify", str(path)], stdout=follower, stderr=subprocess.PIPE, env=env)
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed: the command is done
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert proc.wait(timeout=60) == 0
    assert b"posting your dead" in shown, "a table on a terminal"
    assert (b"\x1b[" in shown) is not no_color


def test_help_shows_flags_without_placeholders_and_reflows_paragraphs() -> None:
    result = run("classify", "--help", env={**os.environ, "COLUMNS": "100"})
    flags = [line for line in result.stdout.splitlines() if "--whole-file" in line or "--explain" in line]
    assert flags and not any("<bool>" in line for line in flags)
    train = run("train", "--help", env={**os.environ, "COLUMNS": "100"}).stdout
    assert "SET/train.csv" in train and 'pip install "griefguard[train]"' in train
