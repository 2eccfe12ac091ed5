"""`griefguard serve`: every status code through the ASGI app, and the real uvicorn server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import ClassVar

import httpx2 as httpx
import pytest
from conftest import MODEL
from fastapi.testclient import TestClient

from griefguard.scorer import load_scorer
from griefguard.server import create_app


@pytest.fixture(scope="module")
def client() -> TestClient:
    with TestClient(create_app(MODEL, max_batch=50, max_bytes=20_000)) as c:
        yield c  # type: ignore[misc]


def test_health_readiness_model_card_and_docs(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}
    assert client.get("/v1/model").json()["labels"] == ["critical", "supportive", "neutral"]
    assert client.get("/docs").status_code == 200
    assert "/v1/classify" in client.get("/openapi.json").json()["paths"]


def test_classify_one_reply_and_a_batch_with_ids(client: TestClient) -> None:
    scorer = load_scorer(MODEL)
    one = client.post("/v1/classify", json={"text": "What camera did you use for these photos?"})
    assert one.status_code == 200
    result = one.json()["results"][0]
    p = scorer.classify(["What camera did you use for these photos?"])[0]
    assert result["label"] == p.label == "neutral" and result["flagged"] is False
    assert result["score"] == round(p.score, 6) and set(result["probabilities"]) == set(scorer.labels)
    assert "coverage" in result and result["id"] is None, "a result always carries its id, null when none was sent"
    batch = client.post("/v1/classify?explain=true", json={"texts": ["so sorry", "fake tears"], "ids": ["a", 7]})
    results = batch.json()["results"]
    assert [r["id"] for r in results] == ["a", 7]
    assert "reasons" in results[1] and "against" in results[1] and results[1]["explained"] == "reply"


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b'{"text": ', 400, "malformed JSON"),
        (b'{"text": "\xff\xfe"}', 400, "not valid UTF-8"),
        (b"[1, 2, 3]", 422, "invalid request"),
        (b'{"text": 5}', 422, "invalid request"),
        (b'{"texts": "one string"}', 422, "invalid request"),
        (b'{"text": "a", "texts": ["b"]}', 422, "invalid request"),
        (b"{}", 422, "invalid request"),
        (b'{"texts": ["a", "b"], "ids": [1]}', 422, "invalid request"),
        (b'{"text": "a", "extra": 1}', 422, "invalid request"),
        (json.dumps({"texts": ["x"] * 51}).encode(), 413, "at most 50"),
        (json.dumps({"text": "x" * 30_000}).encode(), 413, "larger than 20000 bytes"),
    ],
)
def test_bad_requests_get_json_errors_never_500(client: TestClient, body: bytes, status: int, message: str) -> None:
    response = client.post("/v1/classify", content=body, headers={"content-type": "application/json"})
    assert response.status_code == status
    assert message in response.json()["error"]


def test_a_body_without_content_length_is_limited_while_it_streams(client: TestClient) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(100):
            yield b"x" * 1000

    response = client.post("/v1/classify", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_not_ready_until_the_model_is_loaded(tmp_path: Path) -> None:
    with TestClient(create_app(tmp_path / "missing.npz")) as c:
        assert c.get("/healthz").status_code == 200
        response = c.get("/readyz")
        assert response.status_code == 503 and "does not exist" in response.json()["error"]
        assert c.post("/v1/classify", json={"text": "x"}).status_code == 503


# -- the real server ---------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(port: int, *args: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "griefguard", "serve", "--port", str(port), "--model", str(MODEL), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"server did not become ready: {proc.communicate()[0]}")


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
def test_the_real_server_answers_logs_and_shuts_down_gracefully(workers: str) -> None:
    port = _free_port()
    proc = _start(port, "--threads", "2", "--workers", workers)
    base = f"http://127.0.0.1:{port}"
    try:
        response = httpx.post(f"{base}/v1/classify", json={"texts": ["so sorry for your loss", "fake, PR stunt"]})
        assert response.status_code == 200
        assert [r["flagged"] for r in response.json()["results"]] == [False, True]
        assert httpx.post(f"{base}/v1/classify", content=b"{nope").status_code == 400
        # A request in flight when SIGTERM arrives is finished, then the server exits.
        long_batch = {"texts": ["I am so sorry. " * 400 + f"number {i}" for i in range(300)]}
        outcome: dict[str, object] = {}

        def slow_request() -> None:
            outcome["response"] = httpx.post(f"{base}/v1/classify", json=long_batch, timeout=60)

        worker = threading.Thread(target=slow_request)
        worker.start()
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        worker.join(timeout=60)
        response = outcome["response"]
        assert isinstance(response, httpx.Response) and response.status_code == 200
        assert len(response.json()["results"]) == 300
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    access = [line for line in output.splitlines() if '"POST /v1/classify"' in line]
    assert len(access) == 3 and access[0].endswith("ms") and " 200 2 replies " in access[0]
    assert " 400 " in access[1]


def test_serve_refuses_a_bad_model_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a model")
    done = subprocess.run(
        [sys.executable, "-m", "griefguard", "serve", "--port", str(_free_port()), "--model", str(bad)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 2 and done.stderr.strip().splitlines() == [
        f"error: {bad} is not a griefguard model file (expected a .npz archive)"
    ]


def test_replies_are_read_under_the_comment_they_answer(small_thread_model: Path) -> None:
    from conftest import CRITIC, SUPPORTER

    scorer = load_scorer(small_thread_model)
    with TestClient(create_app(small_thread_model)) as client:
        one = client.post("/v1/classify", json={"text": "agreed", "parent": CRITIC, "post": "Theo, 9"}).json()
        result = one["results"][0]
        assert result["score"] == round(scorer.score("agreed", parent=CRITIC, post="Theo, 9"), 6)
        assert result["parent_label"] == "critical" and result["score_alone"] == round(scorer.score("agreed"), 6)
        batch = client.post(
            "/v1/classify?explain=true",
            json={"texts": ["agreed", "agreed", "agreed"], "parents": [CRITIC, SUPPORTER, None], "ids": [1, 2, 3]},
        ).json()["results"]
        assert [r["id"] for r in batch] == [1, 2, 3]
        assert [r["label"] for r in batch[:2]] == ["critical", "supportive"]
        assert batch[0]["explained"] == "thread" and batch[0]["parent_effect"] > 0
        assert "parent_label" not in batch[2] and batch[2]["explained"] == "reply"
        for body, message in (
            ({"texts": ["a", "b"], "parents": ["x"]}, "'parents' has 1 entries but 'texts' has 2"),
            ({"text": "a", "parents": ["x"]}, "'parents', 'posts' and 'ids' go with 'texts'"),
            ({"texts": ["a"], "parent": "x"}, "'parent' and 'post' go with 'text'"),
            ({"text": "a", "parent": 5}, "Input should be a valid string"),
        ):
            response = client.post("/v1/classify", json=body)
            assert response.status_code == 422 and message in json.dumps(response.json()), body


def test_every_error_is_json_of_one_shape(client: TestClient) -> None:
    for response, status in (
        (client.get("/nope"), 404),
        (client.get("/v1/classify"), 405),
        (client.post("/v1/classify?explain=maybe", json={"text": "so sorry"}), 422),
        (client.post("/v1/classify", content=b'{"texts": ["a"], "ids": [' + b"9" * 5000 + b"]}"), 400),
        (client.post("/v1/classify", json={"texts": ["a"], "ids": [2**70]}), 422),
        (client.post("/v1/classify", json={"text": "   "}), 422),
        (client.post("/v1/classify", json={"texts": ["fine", ""]}), 422),
    ):
        assert response.status_code == status, response.text
        body = response.json()
        assert set(body) <= {"error", "detail"} and isinstance(body["error"], str)
    assert "empty reply in 'texts' at [1]" in client.post("/v1/classify", json={"texts": ["fine", ""]}).text


def test_a_lone_surrogate_is_replaced_even_when_explained(client: TestClient) -> None:
    response = client.post(
        "/v1/classify?explain=true",
        content=b'{"texts": ["so sorry \\\\ud800 for your loss"], "ids": [1]}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["id"] == 1


def test_results_name_the_model_they_came_from(client: TestClient) -> None:
    body = client.post("/v1/classify", json={"text": "so sorry"}).json()
    created = load_scorer(MODEL).card["created"]
    assert body["model"] == f"{MODEL.name}, trained {created}"


def test_an_unexpected_error_is_a_json_500_and_a_logged_traceback(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        threshold = 0.5
        card: ClassVar[dict] = {}
        path = None

        def predict(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            raise RuntimeError("boom")

    with TestClient(create_app(scorer=Broken()), raise_server_exceptions=False) as c:  # type: ignore[arg-type]
        response = c.post("/v1/classify", json={"text": "so sorry"})
    assert response.status_code == 500 and response.json() == {"error": "internal error", "detail": "RuntimeError"}
    assert "boom" in caplog.text


def test_serve_on_a_port_in_use_is_one_line_before_loading(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "griefguard", "serve", "--port", str(port), "--model", str(tmp_path / "none.npz")],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: port {port} on 127.0.0.1 is already in use; choose another with --port"


@pytest.mark.slow
def test_the_real_server_refuses_huge_headers_stalled_bodies_and_too_many_connections() -> None:
    port = _free_port()
    proc = _start(port, "--max-connections", "4")
    try:
        with socket.create_connection(("127.0.0.1", port)) as greedy:
            greedy.settimeout(30)
            try:
                greedy.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                for _ in range(200):  # 20 MB of headers, a line at a time
                    greedy.sendall(b"x-junk: " + b"a" * 100_000 + b"\r\n")
            except OSError:
                pass  # the server closed the connection: refused, as it should be
            answer = greedy.recv(4096).decode(errors="replace")
        assert answer == "" or answer.startswith("HTTP/1.1 4"), answer[:100]
        with socket.create_connection(("127.0.0.1", port)) as stalled:
            stalled.sendall(b'POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"text"')
            stalled.settimeout(30)
            started = time.time()
            reply = stalled.recv(4096).decode()
        assert reply.startswith("HTTP/1.1 408") and time.time() - started < 25
        held = [socket.create_connection(("127.0.0.1", port)) for _ in range(6)]
        for s in held:
            s.sendall(b"POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        time.sleep(0.5)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 503
        for s in held:
            s.close()
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
