"""`griefguard classify`, `info` and `evaluate`: formats, streams, exit codes, and bad input without tracebacks."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import DATA, MODEL, ROOT
from typer.testing import CliRunner

from griefguard.cli import app

runner = CliRunner()
REPLIES = [
    "So sorry for your loss ❤️",
    "",
    "She did this for likes",
    "   ",
    "The people shaming her are vile. Rest easy little one.",
]


def run(*args: str, input: str | bytes | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), input=input)


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture
def replies(tmp_path: Path) -> Path:
    path = tmp_path / "replies.txt"
    path.write_text("\n".join(REPLIES) + "\n", encoding="utf-8")
    return path


def test_text_file_one_reply_per_non_empty_line(replies: Path) -> None:
    result = run("classify", str(replies), "--format", "jsonl")
    assert result.exit_code == 0, result.stderr
    rows = jsonl(result.stdout)
    assert [r["line"] for r in rows] == [1, 3, 5]
    assert [r["text"] for r in rows] == [REPLIES[0], REPLIES[2], REPLIES[4]]
    for r in rows:
        assert set(r) >= {"file", "line", "score", "label", "flagged", "text"}
        assert r["file"] == str(replies) and 0 <= r["score"] <= 1
        assert r["label"] == ("critical" if r["flagged"] else "supportive")
    assert rows[1]["flagged"] and not rows[0]["flagged"]
    assert "read 3, scored 3, flagged 1, skipped 0" in result.stderr


def test_csv_and_tsv_output(replies: Path) -> None:
    csv_out = run("classify", str(replies), "--format", "csv").stdout.splitlines()
    assert csv_out[0] == "file,line,score,label,flagged,text" and len(csv_out) == 4
    tsv_out = run("classify", str(replies), "--format", "tsv").stdout.splitlines()
    assert tsv_out[0].split("\t") == ["file", "line", "score", "label", "flagged", "text"]


def test_table_output_is_readable(replies: Path) -> None:
    out = run("classify", str(replies), "--format", "table").stdout
    assert "score" in out.splitlines()[0] and "critical" in out and "She did this for likes" in out


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
    result = run("classify", str(path), "--text-column", "comment", "-f", "jsonl")
    rows = jsonl(result.stdout)
    assert [(r["id"], r["author"], r["line"]) for r in rows] == [("7", "bob", 2), ("8", "ann", 3)]
    out = run("classify", str(path), "--text-column", "comment", "-f", "csv").stdout.splitlines()
    assert out[0] == "file,line,score,label,flagged,text,id,author"


def test_csv_without_text_column_lists_its_columns(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("id,comment\n1,hello\n", encoding="utf-8")
    result = run("classify", str(path))
    assert result.exit_code == 2
    assert "in.csv: no 'text' column; it has: id, comment" in result.stderr


def test_jsonl_input_malformed_line_is_reported_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(
        '{"text": "fake", "id": 1}\n{not json\n{"id": 3}\n{"text": "so sorry", "id": 4}\n', encoding="utf-8"
    )
    result = run("classify", str(path), "-f", "jsonl")
    assert result.exit_code == 0
    assert [r["id"] for r in jsonl(result.stdout)] == [1, 4]
    assert "in.jsonl:2: skipped: malformed JSON" in result.stderr
    assert "in.jsonl:3: skipped: field 'text' is missing (fields: id)" in result.stderr
    assert "read 4, scored 2, flagged" in result.stderr and "skipped 2" in result.stderr
    stopped = run("classify", str(path), "-f", "jsonl", "--bad-lines", "stop")
    assert stopped.exit_code == 2 and "in.jsonl:2: malformed JSON" in stopped.stderr


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
    result = run("classify", str(path))
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_missing_file_and_directory(tmp_path: Path, replies: Path) -> None:
    result = run("classify", str(replies), str(tmp_path / "nope.txt"))
    assert result.exit_code == 2 and "nope.txt: no such file" in result.stderr
    assert result.stdout == "", "inputs are checked before any output"
    result = run("classify", str(tmp_path))
    assert result.exit_code == 2 and "is a directory" in result.stderr


def test_bad_models_and_thresholds(tmp_path: Path, replies: Path) -> None:
    result = run("classify", str(replies), "--model", str(tmp_path / "none.joblib"))
    assert result.exit_code == 2 and "does not exist" in result.stderr
    corrupt = tmp_path / "corrupt.joblib"
    corrupt.write_bytes(MODEL.read_bytes()[:1000])
    result = run("classify", str(replies), "--model", str(corrupt))
    assert result.exit_code == 2 and "corrupt or truncated" in result.stderr
    for bad in ("1.5", "-0.1"):
        result = run("classify", str(replies), "--threshold", bad)
        assert result.exit_code == 2 and "threshold" in result.stderr.lower()


def test_threshold_only_flagged_and_fail_on_flag(replies: Path) -> None:
    assert all(r["flagged"] for r in jsonl(run("classify", str(replies), "-f", "jsonl", "--threshold", "0").stdout))
    flagged = jsonl(run("classify", str(replies), "-f", "jsonl", "--only-flagged").stdout)
    assert [r["text"] for r in flagged] == ["She did this for likes"]
    assert run("classify", str(replies), "--fail-on-flag").exit_code == 1
    assert run("classify", str(replies), "--fail-on-flag", "--threshold", "1").exit_code == 0


def test_explain_adds_reasons_and_sentence(replies: Path) -> None:
    rows = jsonl(run("classify", str(replies), "-f", "jsonl", "--explain").stdout)
    assert rows[1]["reasons"] and all(w > 0 for _, w in rows[1]["reasons"])
    assert rows[2]["sentence"] in ("The people shaming her are vile.", "Rest easy little one.")
    assert "why:" in run("classify", str(replies), "-f", "table", "--explain").stdout


def test_output_file_is_written_atomically(tmp_path: Path, replies: Path) -> None:
    out = tmp_path / "out.csv"
    result = run("classify", str(replies), "--output", str(out))
    assert result.exit_code == 0 and result.stdout == ""
    assert out.read_text().startswith("file,line,score"), "format follows the output's extension"
    before = out.read_bytes()
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine"}\n{oops\n', encoding="utf-8")
    result = run("classify", str(bad), "--output", str(out), "--bad-lines", "stop")
    assert result.exit_code == 2
    assert out.read_bytes() == before, "a failed run leaves the previous output untouched"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["out.csv", "bad.jsonl", "replies.txt"])


def test_unwritable_output(tmp_path: Path, replies: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run("classify", str(replies), "--output", str(blocker / "out.jsonl"))
    assert result.exit_code == 2 and "cannot write to" in result.stderr


def test_info_and_evaluate(tmp_path: Path) -> None:
    result = run("info")
    assert result.exit_code == 0 and "threshold" in result.stdout and "ROC AUC" in result.stdout
    card = json.loads(run("info", "--json").stdout)
    assert card["metrics"]["test"]["roc_auc"] >= 0.97
    out = tmp_path / "metrics.json"
    result = run("evaluate", str(DATA / "test.csv"), "--output", str(out))
    assert result.exit_code == 0 and "macro F1" in result.stdout and "accuracy: negation" in result.stdout
    assert json.loads(out.read_text())["roc_auc"] == card["metrics"]["test"]["roc_auc"]
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nhello,maybe\n")
    result = run("evaluate", str(bad))
    assert result.exit_code == 2 and "bad.csv:2: unknown label 'maybe'" in result.stderr


# -- the installed command, in real processes ----------------------------------------------------------------

GRIEFGUARD = shutil.which("griefguard") or str(Path(sys.executable).with_name("griefguard"))


def test_installed_command_and_python_m(replies: Path) -> None:
    a = subprocess.run(
        [GRIEFGUARD, "classify", str(replies), "-f", "jsonl"], capture_output=True, text=True, check=False
    )
    b = subprocess.run(
        [sys.executable, "-m", "griefguard", "classify", str(replies), "-f", "jsonl"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert a.returncode == b.returncode == 0, a.stderr + b.stderr
    assert a.stdout == b.stdout and len(jsonl(a.stdout)) == 3


def test_jobs_keep_input_order(tmp_path: Path) -> None:
    lines = (DATA / "test.csv").read_text(encoding="utf-8").splitlines()[1:]
    path = tmp_path / "many.txt"
    path.write_text("\n".join(lines * 3) + "\n", encoding="utf-8")
    one = subprocess.run([GRIEFGUARD, "classify", str(path), "-f", "jsonl"], capture_output=True, text=True, check=True)
    two = subprocess.run(
        [GRIEFGUARD, "classify", str(path), "-f", "jsonl", "-j", "2"], capture_output=True, text=True, check=True
    )
    assert one.stdout == two.stdout and len(one.stdout.splitlines()) == len([x for x in lines * 3 if x.strip()])


def test_output_piped_into_head_ends_quietly(tmp_path: Path) -> None:
    path = tmp_path / "many.txt"
    path.write_text("so sorry for your loss\n" * 50000, encoding="utf-8")
    result = subprocess.run(
        f"'{GRIEFGUARD}' classify '{path}' -f jsonl | head -n 2",
        shell=True,
        capture_output=True,
        text=True,
        check=False,
    )
    assert len(result.stdout.splitlines()) == 2
    assert "Traceback" not in result.stderr and "Broken pipe" not in result.stderr


def test_ctrl_c_exits_130_without_partial_output(tmp_path: Path) -> None:
    path = tmp_path / "many.txt"
    path.write_text("she only posted this for attention\n" * 400000, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    proc = subprocess.Popen([GRIEFGUARD, "classify", str(path), "-o", str(out)], stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 30
    while time.time() < deadline and not any(p.name.startswith(".out.jsonl") for p in tmp_path.iterdir()):
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["many.txt"], "no partial or temporary output"


def test_readme_quick_start_example_exists() -> None:
    assert (ROOT / "examples" / "replies.txt").read_text(encoding="utf-8").strip()
    assert os.access(ROOT / ".ci" / "run", os.X_OK)
