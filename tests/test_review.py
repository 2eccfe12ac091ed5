"""The review queue, its decisions file, its API and its command (the page itself: test_review_browser.py)."""

from __future__ import annotations

import csv
import errno
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx
import numpy as np
import pytest
from conftest import MODEL, SMALL_CORPUS, write_csv
from fastapi.testclient import TestClient

from griefguard.decisions import DECISION_COLUMNS, DecisionLog
from griefguard.errors import DataError, OutputError
from griefguard.metrics import threshold_figures
from griefguard.review import fit_threshold, highlight_spans
from griefguard.review_app import MAX_BODY, create_review_app
from griefguard.review_settings import ReviewSettings

LABELS = ("critical", "supportive", "neutral")
GRIEFGUARD = [sys.executable, "-m", "griefguard"]
POST = "Our dog Biscuit died this morning. 14 good years."
THREAD = [
    ("1", "", "Run free Biscuit, he was such a good boy", POST),
    ("2", "", "it's just a dog, get over it", POST),
    ("3", "2", "have some respect, she just lost her best friend", POST),
    ("4", "2", "exactly lol", POST),
    ("5", "", "what breed was he?", POST),
]


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _thread_file(folder: Path) -> Path:
    return write_csv(folder / "thread.csv", THREAD, ("id", "parent_id", "text", "post"))


# -- the decisions file ---------------------------------------------------------------------------------------


def test_decisions_are_appended_changed_taken_back_and_resumed(tmp_path: Path) -> None:
    path = tmp_path / "decisions.csv"
    log = DecisionLog(path, LABELS)
    log.decide(("fake tears", "", "post"), "critical", "critical", 0.91)
    log.decide(("so sorry", "parent", ""), "supportive", "supportive", 0.01)
    rows = _rows(path)
    assert list(rows[0]) == list(DECISION_COLUMNS)
    assert [(r["text"], r["label"], r["parent"], r["post"]) for r in rows] == [
        ("fake tears", "critical", "", "post"),
        ("so sorry", "supportive", "parent", ""),
    ]
    assert rows[0]["model_score"] == "0.910000" and rows[0]["decided_at"].endswith("+00:00")

    log.decide(("fake tears", "", "post"), "neutral", "critical", 0.91)  # a change of mind: one row, the newest last
    assert [(r["text"], r["label"]) for r in _rows(path)] == [("so sorry", "supportive"), ("fake tears", "neutral")]
    log.decide(("so sorry", "parent", ""), None)
    assert [(r["text"], r["label"]) for r in _rows(path)] == [("fake tears", "neutral")]

    again = DecisionLog(path, LABELS)
    assert len(again) == 1 and again.get(("fake tears", "", "post")).label == "neutral"  # type: ignore[union-attr]


def test_a_failed_write_keeps_the_file_and_the_decisions_as_they_were(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "decisions.csv"
    log = DecisionLog(path, LABELS)
    log.decide(("first", "", ""), "critical", "critical", 0.9)
    before = path.read_bytes()
    real_write = os.write

    def half_then_full(fd: int, data) -> int:  # type: ignore[no-untyped-def]
        real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", half_then_full)
    with pytest.raises(OutputError, match="No space left"):
        log.decide(("second", "", ""), "supportive", "supportive", 0.1)
    monkeypatch.undo()
    assert path.read_bytes() == before, "never half a row"
    assert log.get(("second", "", "")) is None and len(log) == 1


def test_a_file_without_a_final_newline_is_rewritten_not_corrupted(tmp_path: Path) -> None:
    path = tmp_path / "decisions.csv"
    path.write_text("text,label\nfake,critical", encoding="utf-8")
    DecisionLog(path, LABELS).decide(("kind words", "", ""), "supportive")
    assert [(r["text"], r["label"]) for r in _rows(path)] == [("fake", "critical"), ("kind words", "supportive")]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("reply,verdict\nx,critical\n", "not a decisions file"),
        ("text,label\nx,rude\n", "unknown label 'rude'"),
        ("text,label,model_score\nx,critical,high\n", "not a number"),
    ],
)
def test_a_file_that_is_not_decisions_is_refused_with_one_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "decisions.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        DecisionLog(path, LABELS)


# -- highlights and the threshold -------------------------------------------------------------------------------


def test_highlights_land_on_whole_words_in_browser_offsets() -> None:
    text = "💙💙 this is fake. Fake tears, honestly"
    spans = highlight_spans(text, [("fake", 1.5), ("fake tears (under a critical comment)", 2.0)], [("is", -0.5, "n")])
    as_js = text.encode("utf-16-le")
    found = [(as_js[2 * s["start"] : 2 * s["end"]].decode("utf-16-le"), s["kind"]) for s in spans]
    assert found == [("is", "lower"), ("fake", "raise"), ("Fake tears", "raise")], "not 'is' inside 'this'"
    assert spans[2]["term"] == "fake tears"
    assert highlight_spans("so sorry", [("under a critical comment", 5.0), ("xurl", 1.0)], []) == []


def test_the_fitted_threshold_is_the_sweep_of_the_decisions() -> None:
    from griefguard.decisions import Decision

    scores = [0.95, 0.9, 0.8, 0.6, 0.3, 0.1]
    labels = ["critical", "critical", "neutral", "critical", "supportive", "neutral"]
    decisions = [
        Decision(f"r{i}", label, model_score=s) for i, (s, label) in enumerate(zip(scores, labels, strict=True))
    ]
    fit = fit_threshold(decisions, 0.5, 0.75)
    assert fit["decisions"] == 6 and fit["critical"] == 3
    assert fit["at_threshold"] == {"threshold": 0.5, "precision": 0.75, "recall": 1.0, "flagged": 0.6667}
    assert fit["reaching_target"]["threshold"] == 0.6 and fit["reaching_target"]["recall"] == 1.0
    same = threshold_figures(np.array(labels) == "critical", scores, 0.75)["lowest_threshold_reaching_it"]
    assert fit["reaching_target"] == same
    assert fit_threshold([], 0.5, 0.9)["reaching_target"] is None


# -- the API -------------------------------------------------------------------------------------------------


def _app(scorer, folder: Path, token: str | None = None):  # type: ignore[no-untyped-def]
    settings = ReviewSettings((str(_thread_file(folder)),), token=token)
    queue, skips = settings.build(scorer)
    assert skips == []
    return create_review_app(queue, token)


def test_the_queue_lists_threads_and_decisions_and_explains_on_demand(scorer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(_app(scorer, tmp_path), base_url="http://127.0.0.1:8123")
    body = client.get("/review/api/queue").json()
    items = {i["text"]: i for i in body["items"]}
    assert items["exactly lol"]["parent"] == "it's just a dog, get over it" and items["exactly lol"]["post"] == POST
    assert items["exactly lol"]["parent_label"] == "critical" and body["decisions"] == 0
    assert body["threshold"] == scorer.threshold and body["labels"] == list(LABELS)
    target = items["it's just a dog, get over it"]["id"]
    explained = client.get(f"/review/api/explain?ids={target}").json()["explanations"][0]
    assert explained["reasons"] and any(s["kind"] == "raise" for s in explained["spans"])

    saved = client.post("/review/api/decide", json={"ids": [target], "label": "critical"})
    assert saved.status_code == 200 and saved.json() == {"decided": {str(target): "critical"}, "decisions": 1}
    assert client.get("/review/api/queue").json()["items"][target]["decision"] == "critical"
    fit = client.get("/review/api/fit?threshold=0.5&target=0.9").json()
    assert fit["decisions"] == 1 and fit["at_threshold"]["precision"] == 1.0
    assert client.post("/review/api/decide", json={"ids": [target], "label": None}).json()["decisions"] == 0
    page = client.get("/review/")
    assert page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/review/static/review.js").headers["content-type"].startswith("text/javascript")


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "message"),
    [
        ("get", "/review/api/explain?ids=1,x", {}, 422, "integers"),
        ("get", "/review/api/explain?ids=" + ",".join(["1"] * 201), {}, 413, "at most 200"),
        ("get", "/review/api/explain?ids=99", {}, 404, "no such reply"),
        ("post", "/review/api/decide", {"json": {"ids": [0], "label": "rude"}}, 422, "unknown label"),
        ("post", "/review/api/decide", {"json": {"ids": [99], "label": "critical"}}, 404, "no such reply"),
        ("post", "/review/api/decide", {"json": {"ids": [], "label": "critical"}}, 422, "invalid request"),
        ("post", "/review/api/decide", {"content": b'{"ids": [0], "label": "critical"}'}, 415, "application/json"),
        (
            "post",
            "/review/api/decide",
            {"json": {"ids": [0], "label": "critical"}, "headers": {"origin": "http://evil.example"}},
            403,
            "review page itself",
        ),
        ("post", "/review/api/decide", {"content": b"x" * (MAX_BODY + 1)}, 413, "larger than"),
        ("get", "/review/static/../../etc/passwd", {}, 404, "not found"),
        ("get", "/review/api/fit?threshold=2", {}, 422, "invalid request"),
    ],
)
def test_bad_requests_get_one_json_error(scorer, tmp_path: Path, method, path, kwargs, status, message) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(_app(scorer, tmp_path), base_url="http://127.0.0.1:8123")
    response = getattr(client, method)(path, **kwargs)
    assert response.status_code == status, response.text
    assert message in response.json()["error"]
    assert not (tmp_path / "thread.decisions.csv").exists(), "a refused request decides nothing"


def test_without_a_token_only_requests_to_loopback_are_answered(scorer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(_app(scorer, tmp_path), base_url="http://attacker.example")
    refused = client.get("/review/api/queue")
    assert refused.status_code == 403 and "127.0.0.1" in refused.json()["error"]


def test_with_a_token_every_request_needs_it(scorer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    token = "correct horse battery staple"
    client = TestClient(_app(scorer, tmp_path, token), base_url="http://review.team.example")
    assert client.get("/review/api/queue").status_code == 401
    assert client.get("/review/static/review.js").status_code == 401
    assert client.get("/review/api/queue", headers={"authorization": "Bearer nope"}).status_code == 401
    assert client.get("/review/api/queue", headers={"authorization": f"Bearer {token}"}).status_code == 200
    opened = client.get(f"/review/?token={token}", follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == "/review/"
    cookie = opened.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert client.get("/review/api/queue").status_code == 200, "the cookie now carries it"


def test_a_decision_that_cannot_be_saved_is_reported_not_shown(scorer, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(_app(scorer, tmp_path), base_url="http://127.0.0.1:8123")

    def full(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    response = client.post("/review/api/decide", json={"ids": [1], "label": "critical"})
    assert response.status_code == 507 and "No space left" in response.json()["error"]
    monkeypatch.undo()
    assert client.get("/review/api/queue").json()["items"][1]["decision"] is None


# -- the command ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--host", "0.0.0.0"], "needs a token"),
        (["--host", "0.0.0.0", "--token", "short"], "too short"),
        (["--decisions", "{tmp}/no/such/folder/d.csv"], "cannot write the decisions"),
        (["--decisions", "{tmp}"], "cannot write the decisions"),
    ],
)
def test_review_refuses_to_start_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    source = _thread_file(tmp_path)
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    env = {k: v for k, v in os.environ.items() if k != "GRIEFGUARD_TOKEN"}
    done = subprocess.run(
        [*GRIEFGUARD, "review", str(source), *args], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr


def test_review_of_standard_input_needs_a_decisions_file(tmp_path: Path) -> None:
    done = subprocess.run([*GRIEFGUARD, "review", "-"], input="so sorry\n", capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "needs --decisions" in done.stderr


def test_a_corrupt_decisions_file_stops_review_before_it_serves(tmp_path: Path) -> None:
    source = _thread_file(tmp_path)
    (tmp_path / "thread.decisions.csv").write_bytes(b"\x00\x01binary")
    done = subprocess.run([*GRIEFGUARD, "review", str(source)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "binary" in done.stderr and done.stderr.count("\n") == 1


def test_serve_review_refuses_several_workers(tmp_path: Path) -> None:
    source = _thread_file(tmp_path)
    done = subprocess.run(
        [*GRIEFGUARD, "serve", "--review", str(source), "--workers", "2"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2 and "--workers 1" in done.stderr


@pytest.mark.slow
def test_serve_review_puts_the_page_beside_the_api(tmp_path: Path) -> None:
    source = _thread_file(tmp_path)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [*GRIEFGUARD, "serve", "--port", str(port), "--model", str(MODEL), "--review", str(source)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if httpx.get(f"{base}/review/api/queue", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        queue = httpx.get(f"{base}/review/api/queue").json()
        assert len(queue["items"]) == len(THREAD)
        decided = httpx.post(f"{base}/review/api/decide", json={"ids": [0], "label": "supportive"})
        assert decided.status_code == 200
        assert _rows(tmp_path / "thread.decisions.csv")[0]["label"] == "supportive"
        assert httpx.post(f"{base}/v1/classify", json={"text": "so sorry"}).status_code == 200
        assert "/review/api/queue" not in httpx.get(f"{base}/openapi.json").json()["paths"]
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


@pytest.mark.slow
def test_decisions_train_a_model_with_extra(tmp_path: Path) -> None:
    """A decisions file is what `train --extra` and `check-data` read: its rows join the training data."""
    from griefguard.decisions import DecisionLog
    from griefguard.training import ModelParams, load_corpus, train

    log = DecisionLog(tmp_path / "decisions.csv", LABELS)
    for text, parent, label in [
        ("stop milking it for sympathy", "", "critical"),
        ("exactly lol", "it's just a dog, get over it", "critical"),
        ("have some respect, she just lost her best friend", "it's just a dog, get over it", "supportive"),
        ("what breed was he?", "", "neutral"),
    ]:
        log.decide((text, parent, POST), label, "neutral", 0.2)
    checked = subprocess.run(
        [*GRIEFGUARD, "check-data", str(tmp_path / "decisions.csv")], capture_output=True, text=True, timeout=120
    )
    assert checked.returncode == 0, checked.stderr + checked.stdout
    small = write_csv(tmp_path / "small.csv", SMALL_CORPUS)
    corpus = load_corpus(None, train=[small], extra=[tmp_path / "decisions.csv"], no_test=True)
    assert sum(len(d) for d in corpus.train_files) == len(SMALL_CORPUS) + 4
    result = train(corpus, folds=3, search=False, params=ModelParams(min_df=1))
    assert result.model.thread is None, "too few thread decisions to cross-validate: replies are read alone"


def test_the_page_fits_the_same_threshold_as_evaluate_sweep_on_the_decisions(scorer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from griefguard.evaluation import load_labeled_for, threshold_sweep

    client = TestClient(_app(scorer, tmp_path), base_url="http://127.0.0.1:8123")
    items = client.get("/review/api/queue").json()["items"]
    verdicts = {
        "it's just a dog, get over it": "critical",
        "exactly lol": "critical",
        "have some respect, she just lost her best friend": "supportive",
        "what breed was he?": "neutral",
        "Run free Biscuit, he was such a good boy": "critical",  # a moderator who disagrees with the model
    }
    for item in items:
        client.post("/review/api/decide", json={"ids": [item["id"]], "label": verdicts[item["text"]]})
    page = client.get("/review/api/fit?threshold=0.5&target=0.6").json()
    terminal = threshold_sweep(scorer, load_labeled_for(scorer, tmp_path / "thread.decisions.csv"), 0.6)
    assert page["decisions"] == terminal["replies"] == 5 and page["critical"] == terminal["critical"] == 3
    assert page["reaching_target"] == terminal["lowest_threshold_reaching_it"]
