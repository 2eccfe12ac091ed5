"""`griefguard serve`: the scorer as an HTTP service (FastAPI on uvicorn; the `serve` extra).

    POST /v1/classify   {"text": "..."} or {"texts": ["...", ...], "ids": [...]}; ?explain=true adds reasons
    GET  /v1/model      the model card
    GET  /healthz       the process is up
    GET  /readyz        the model is loaded (503 until then)
    GET  /docs          OpenAPI documentation

Bad input gets a JSON error with the right status and never a 500: malformed JSON or invalid UTF-8 400,
wrong types 422, a batch over --max-batch or a body over --max-bytes 413 (the body is refused while it
streams in, so a huge request cannot exhaust memory). Scoring runs in a bounded thread pool, so the event
loop keeps answering while a batch is scored; the replies of requests that arrive together are scored in one
call (`Batcher`), which is what keeps single-reply requests fast under load. uvicorn finishes requests in
flight on SIGTERM. One access-log
line per request gives method, path, status, replies and latency.
"""

from __future__ import annotations

import asyncio
import errno
import gc
import json
import logging
import os
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError, model_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

from griefguard import __version__
from griefguard.errors import GriefguardError
from griefguard.reading import replace_surrogates
from griefguard.review_settings import ReviewSettings
from griefguard.scorer import Scorer, load_scorer

__all__ = ["ClassifyRequest", "ClassifyResponse", "create_app", "run_server"]

log = logging.getLogger("griefguard.access")
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))

ENV_PREFIX = "GRIEFGUARD_SERVE_"  # how `serve --workers N` hands its options to each worker process
BODY_READ_TIMEOUT = 10.0  # seconds a request body may stall between two chunks before the request is refused
HEADER_LIMIT = 64 * 1024  # bytes of request line and headers (enforced by the h11 parser, which serve uses)
KEEP_ALIVE_TIMEOUT = 5  # seconds an idle keep-alive connection is kept open


class ClassifyRequest(BaseModel):
    """One reply (`text`, with the comment it answers as `parent` and the post as `post`, both optional) or a
    batch (`texts`, optionally with `parents`, `posts` and `ids` aligned with it; `ids` are echoed back)."""

    model_config = ConfigDict(extra="forbid")

    text: StrictStr | None = Field(None, description="One reply.")
    parent: StrictStr | None = Field(None, description="The comment the reply answers (none: a reply to the post).")
    post: StrictStr | None = Field(None, description="The text of the post the thread is under.")
    texts: list[StrictStr] | None = Field(None, description="A batch of replies.")
    parents: list[StrictStr | None] | None = Field(None, description="The comment each reply answers (null: none).")
    posts: list[StrictStr | None] | None = Field(None, description="The post each reply is under (null: unknown).")
    ids: list[StrictStr | Annotated[StrictInt, Field(ge=-(2**63), lt=2**63)]] | None = Field(
        None, description="An id per reply in `texts` (a string, or an integer of at most 64 bits), echoed back."
    )

    @model_validator(mode="after")
    def _one_of(self) -> ClassifyRequest:
        if (self.text is None) == (self.texts is None):
            raise ValueError("give exactly one of 'text' or 'texts'")
        empty = [i for i, t in enumerate([self.text] if self.text is not None else self.texts or []) if not t.strip()]
        if empty:  # as the command line skips an empty reply, the service refuses to score one
            where = "'text'" if self.text is not None else f"'texts' at {empty[:10]}"
            raise ValueError(f"empty reply in {where}: there is nothing to score")
        if self.text is not None and any(v is not None for v in (self.parents, self.posts, self.ids)):
            raise ValueError("'parents', 'posts' and 'ids' go with 'texts'; with 'text' use 'parent' and 'post'")
        if self.texts is not None:
            if self.parent is not None or self.post is not None:
                raise ValueError("'parent' and 'post' go with 'text'; with 'texts' use 'parents' and 'posts'")
            for name in ("ids", "parents", "posts"):
                values = getattr(self, name)
                if values is not None and len(values) != len(self.texts):
                    raise ValueError(f"'{name}' has {len(values)} entries but 'texts' has {len(self.texts)}")
        return self

    def replies(self) -> tuple[list[str], list[str] | None, list[str] | None, list[Any] | None]:
        """(texts, parents, posts, ids) of the request, parents and posts None when not given."""
        if self.text is not None:
            return (
                [self.text],
                None if self.parent is None else [self.parent],
                None if self.post is None else [self.post],
                None,
            )
        texts = list(self.texts or [])
        parents = None if self.parents is None else [p or "" for p in self.parents]
        posts = None if self.posts is None else [p or "" for p in self.posts]
        return texts, parents, posts, self.ids


class Result(BaseModel):
    id: str | int | None = Field(None, description="The id sent with the reply (null when none was sent).")
    label: str
    score: float = Field(description="Probability that the reply is critical.")
    flagged: bool = Field(description="score >= threshold: hide or review.")
    coverage: float = Field(description="Share of the reply's tokens the model knows.")
    probabilities: dict[str, float]
    parent_label: str | None = Field(None, description="The parent comment's label, when read under it.")
    score_alone: float | None = Field(None, description="The reply's score read alone, when read under a parent.")
    reasons: list[tuple[str, float]] | None = None
    against: list[tuple[str, float, str]] | None = None
    sentence: str | None = None
    sentence_score: float | None = None
    explained: str | None = None
    parent_effect: float | None = Field(None, description="How much the parent moved the log-odds of critical.")


class ClassifyResponse(BaseModel):
    model: str = Field(description="The model's file name and when it was trained.")
    threshold: float
    results: list[Result]


def _error(status: int, message: str, detail: Any = None) -> JSONResponse:
    body: dict[str, Any] = {"error": message}
    if detail is not None:
        body["detail"] = detail
    return JSONResponse(body, status_code=status)


class AccessLog:
    """Pure ASGI middleware: one log line per request with client, method, path, status, replies and latency."""

    def __init__(self, app: Any, enabled: bool = True) -> None:
        self.app = app
        self.enabled = enabled

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or not self.enabled:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        scope.setdefault("state", {})
        status = 500

        async def watch(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            replies = scope["state"].get("replies")
            client = scope.get("client")
            log.info(
                '%s "%s %s" %d %s%.1f ms',
                client[0] if client else "-",
                scope["method"],
                scope["path"],
                status,
                f"{replies} replies " if replies is not None else "",
                1000 * (time.perf_counter() - started),
            )


@dataclass
class _Pending:
    texts: list[str]
    parents: list[str] | None
    posts: list[str] | None
    ids: list[Any] | None
    explain: bool
    future: asyncio.Future[list[dict[str, Any]]]


class Batcher:
    """Scores the replies of concurrent requests together, in the thread pool.

    Requests queue up; each time the pool can take a batch, every request waiting (up to `max_replies` replies)
    is scored in one call, so the fixed cost of a call is shared when many small requests arrive at once. A
    request that arrives alone is scored at once: nothing waits for a batch to fill.
    """

    def __init__(self, scorer: Scorer, pool: ThreadPoolExecutor, slots: int, max_replies: int = 256) -> None:
        self.scorer = scorer
        self.pool = pool
        self.max_replies = max_replies
        self.queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self.slots = asyncio.Semaphore(slots)
        self.task: asyncio.Task[None] | None = None

    async def score(
        self,
        texts: list[str],
        parents: list[str] | None,
        posts: list[str] | None,
        ids: list[Any] | None,
        explain: bool,
    ) -> list[dict[str, Any]]:
        future: asyncio.Future[list[dict[str, Any]]] = asyncio.get_running_loop().create_future()
        await self.queue.put(_Pending(texts, parents, posts, ids, explain, future))
        return await future

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self.slots.acquire()
            items = [await self.queue.get()]
            size = len(items[0].texts)
            while size < self.max_replies and not self.queue.empty():
                items.append(self.queue.get_nowait())
                size += len(items[-1].texts)
            work = loop.run_in_executor(self.pool, _score_many, self.scorer, items)
            work.add_done_callback(lambda done, items=items: self._finish(done, items))

    def _finish(self, done: asyncio.Future[list[list[dict[str, Any]]]], items: list[_Pending]) -> None:
        self.slots.release()
        error = done.exception()
        for i, item in enumerate(items):
            if item.future.done():
                continue
            if error is not None:
                item.future.set_exception(error)
            else:
                item.future.set_result(done.result()[i])


def _score_many(scorer: Scorer, items: list[_Pending]) -> list[list[dict[str, Any]]]:
    """Score several requests' replies in one call (those asking for explanations on their own) and hand each
    request its own results: one prediction record each, with its id (null when none was sent)."""

    def entries(item: _Pending, predictions: list[Any]) -> list[dict[str, Any]]:
        ids = item.ids if item.ids is not None else [None] * len(item.texts)
        return [{"id": i, **p.record()} for i, p in zip(ids, predictions, strict=True)]

    out: dict[int, list[dict[str, Any]]] = {}
    together = [(k, item) for k, item in enumerate(items) if not item.explain]
    if together:
        texts = [t for _, item in together for t in item.texts]
        thread = any(item.parents is not None or item.posts is not None for _, item in together)
        parents = [p for _, item in together for p in (item.parents or [""] * len(item.texts))] if thread else None
        posts = [p for _, item in together for p in (item.posts or [""] * len(item.texts))] if thread else None
        predictions = scorer.predict(texts, parents=parents, posts=posts)
        start = 0
        for k, item in together:
            out[k] = entries(item, predictions[start : start + len(item.texts)])
            start += len(item.texts)
    for k, item in enumerate(items):
        if item.explain:
            out[k] = entries(item, scorer.predict(item.texts, parents=item.parents, posts=item.posts, explain=True))
    return [out[k] for k in range(len(items))]


def install_error_handlers(app: FastAPI) -> None:
    """Every error as one JSON object `{"error": ..., "detail": ...}` with its status, never a traceback: 404, 405
    and the like, invalid requests (422), and anything unexpected (500, with the traceback in the server log)."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = str(exc.detail) if exc.detail else "error"
        if detail == HTTPStatus(exc.status_code).phrase:  # Starlette's own "Not Found": lower-cased as ours are
            detail = detail.lower()
        response = _error(exc.status_code, detail)
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_query(_request: Request, exc: RequestValidationError) -> JSONResponse:
        detail = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
        return _error(422, "invalid request", detail)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        logging.getLogger("griefguard").exception("unexpected error while answering a request")
        return _error(500, "internal error", type(exc).__name__)


def create_app(
    model: str | Path | None = None,
    *,
    threads: int = 4,
    max_batch: int = 1000,
    max_bytes: int = 4_000_000,
    access_log: bool = True,
    scorer: Scorer | None = None,
    review: ReviewSettings | None = None,
) -> FastAPI:
    """The ASGI application. The model loads in the background at startup; /readyz says when it is ready. With
    `review`, the review page of those files is served under /review/ as well (`serve --review`)."""
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="griefguard-score")
    state: dict[str, Any] = {"scorer": scorer, "error": None, "batcher": None}

    def load() -> None:
        try:
            state["scorer"] = load_scorer(model)
        except GriefguardError as exc:
            state["error"] = str(exc)
            logging.getLogger("griefguard").error("error: %s", exc)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):  # type: ignore[no-untyped-def]
        if state["scorer"] is None:
            await asyncio.get_running_loop().run_in_executor(pool, load)
        if state["scorer"] is not None:
            # The model's vocabulary is a few large dicts that live as long as the process: keep them out of the
            # garbage collector's full passes, which would otherwise stall requests now and then.
            gc.freeze()
            batcher = Batcher(state["scorer"], pool, slots=threads)
            batcher.task = asyncio.create_task(batcher.run())
            state["batcher"] = batcher
            if review is not None:
                await asyncio.get_running_loop().run_in_executor(pool, build_review, state["scorer"])
        yield
        if state["batcher"] is not None:
            state["batcher"].task.cancel()
        pool.shutdown(wait=True)

    app = FastAPI(
        title="griefguard",
        version=__version__,
        description="Flags critical replies to posts about a loss; lets supportive and neutral ones through.",
        lifespan=lifespan,
    )

    app.add_middleware(AccessLog, enabled=access_log)

    install_error_handlers(app)

    if review is not None:
        from griefguard.review_app import BodyLimit, review_router

        app.state.review_queue = None
        app.state.review_error = None

        def build_review(loaded: Scorer) -> None:
            try:
                app.state.review_queue, skips = review.build(loaded)
                if skips:
                    logging.getLogger("griefguard").warning("review: %d records skipped", len(skips))
            except GriefguardError as exc:
                app.state.review_error = f"the review queue could not be built: {exc}"
                logging.getLogger("griefguard").error("error: %s", app.state.review_error)

        def review_queue() -> Any:
            if app.state.review_error is not None:
                raise StarletteHTTPException(503, app.state.review_error)
            return app.state.review_queue

        app.add_middleware(BodyLimit)
        app.include_router(review_router(review_queue, review.token))

    def ready_scorer() -> Scorer | None:
        return state["scorer"]

    @app.get("/healthz", summary="The process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="The model is loaded", responses={503: {"description": "Not ready yet"}})
    async def readyz() -> Any:
        if ready_scorer() is None:
            return _error(503, state["error"] or "model is loading")
        return {"status": "ready"}

    @app.get("/v1/model", summary="The model card")
    async def model_card() -> Any:
        scorer = ready_scorer()
        if scorer is None:
            return _error(503, state["error"] or "model is loading")
        return JSONResponse(dict(scorer.card))

    schema = ClassifyRequest.model_json_schema()

    @app.post(
        "/v1/classify",
        response_model=ClassifyResponse,
        response_model_exclude_none=True,
        summary="Score replies",
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}},
        responses={
            400: {"description": "Malformed JSON or invalid UTF-8"},
            413: {"description": "Too many replies, or a body too large"},
            422: {"description": "Wrong fields or types"},
            503: {"description": "The model is not loaded yet"},
        },
    )
    async def classify(
        request: Request, explain: bool = Query(False, description="Add the terms behind each score.")
    ) -> Any:
        scorer = ready_scorer()
        if scorer is None:
            return _error(503, state["error"] or "model is loading")
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > max_bytes:
            return _error(413, f"request body larger than {max_bytes} bytes")
        chunks, size = [], 0
        stream = request.stream().__aiter__()
        while True:  # refused as it streams in: a huge or a trickling body never sits in memory for long
            try:
                chunk = await asyncio.wait_for(stream.__anext__(), BODY_READ_TIMEOUT)
            except StopAsyncIteration:
                break
            except TimeoutError:
                return _error(408, f"the request body stalled for more than {BODY_READ_TIMEOUT:g} s")
            size += len(chunk)
            if size > max_bytes:
                return _error(413, f"request body larger than {max_bytes} bytes")
            chunks.append(chunk)
        raw = b"".join(chunks)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return _error(400, f"body is not valid UTF-8 (byte {exc.start})")
        try:
            payload = json.loads(text)
        except json.JSONDecodeError as exc:
            return _error(400, f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
        except RecursionError:
            return _error(400, "malformed JSON: nested too deeply")
        except ValueError as exc:  # an integer of thousands of digits, which Python refuses to convert
            return _error(400, f"malformed JSON: {exc}".split(";")[0])
        try:
            body = ClassifyRequest.model_validate(payload)
        except ValidationError as exc:
            detail = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors(include_url=False)]
            return _error(422, "invalid request", detail)
        texts, parents, posts, ids = body.replies()
        texts = replace_surrogates(texts)  # "\ud800" in JSON is a lone surrogate: replaced, as the CLI does
        parents = None if parents is None else replace_surrogates(parents)
        posts = None if posts is None else replace_surrogates(posts)
        request.state.replies = len(texts)  # for the access log
        if len(texts) > max_batch:
            return _error(413, f"{len(texts)} replies in one request; at most {max_batch}")
        results = await state["batcher"].score(texts, parents, posts, ids, explain)
        # The body is built here, not validated again against the response model (which documents it).
        payload = {"model": scorer.name, "threshold": scorer.threshold, "results": results}
        return Response(_JSON.encode(payload), media_type="application/json")

    return app


def app_from_environment() -> Any:
    """The app for `serve --workers N`: each worker process builds it from the options in the environment."""
    _configure_logging()  # in every worker process: with --workers, each is a fresh interpreter
    env = os.environ
    app = create_app(
        env.get(f"{ENV_PREFIX}MODEL") or None,
        threads=int(env.get(f"{ENV_PREFIX}THREADS", "4")),
        max_batch=int(env.get(f"{ENV_PREFIX}MAX_BATCH", "1000")),
        max_bytes=int(env.get(f"{ENV_PREFIX}MAX_BYTES", "4000000")),
        access_log=env.get(f"{ENV_PREFIX}ACCESS_LOG", "1") == "1",
        review=ReviewSettings.from_json(env[f"{ENV_PREFIX}REVIEW"]) if env.get(f"{ENV_PREFIX}REVIEW") else None,
    )
    return app


def _configure_logging() -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    for name in ("griefguard", "griefguard.access"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        if not logger.handlers:
            logger.addHandler(handler)
        logger.propagate = False


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: a free one), or one clear line saying why not: a port already in
    use or an address that cannot be bound is refused before any model is loaded."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise GriefguardError(f"cannot listen on {host}: {exc.strerror or exc}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise GriefguardError(f"port {port} on {host} is already in use; choose another with --port") from None
        raise GriefguardError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def check_port(host: str, port: int) -> None:
    """Refuse, with one line, a port that is already in use or an address that cannot be bound (uvicorn would say
    so only after loading the model, in many lines)."""
    listen(host, port).close()


def run_server(
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    model: str | Path | None = None,
    workers: int = 1,
    threads: int = 4,
    max_batch: int = 1000,
    max_bytes: int = 4_000_000,
    access_log: bool = True,
    max_connections: int = 256,
    review: ReviewSettings | None = None,
) -> None:
    """Run the service with uvicorn until SIGINT or SIGTERM (requests in flight are finished first).

    Limits against slow and greedy clients: at most `max_connections` connections at once per process (more get
    503), request line and headers of at most HEADER_LIMIT bytes (the h11 parser enforces it), a body that stalls
    for BODY_READ_TIMEOUT seconds is refused (408), and idle keep-alive connections close after
    KEEP_ALIVE_TIMEOUT seconds."""
    import uvicorn

    from griefguard.model_file import default_model_path, load_model

    if review is not None:
        review = review.checked(host, workers)  # the files, the decisions file and the token, before anything
    check_port(host, port)
    path = Path(model) if model is not None else default_model_path()
    loaded = load_model(path)  # a bad model file is a clear one-line error now, not a worker crash later
    if review is not None:
        review.check_decisions(loaded.labels)
    settings = {
        f"{ENV_PREFIX}MODEL": str(path.resolve()),
        f"{ENV_PREFIX}THREADS": str(threads),
        f"{ENV_PREFIX}MAX_BATCH": str(max_batch),
        f"{ENV_PREFIX}MAX_BYTES": str(max_bytes),
        f"{ENV_PREFIX}ACCESS_LOG": "1" if access_log else "0",
        f"{ENV_PREFIX}REVIEW": review.to_json() if review is not None else "",
    }
    saved = {k: os.environ.get(k) for k in settings}
    os.environ.update(settings)  # worker processes read their options here; put back when the server stops
    try:
        uvicorn.run(
            "griefguard.server:app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            access_log=False,  # ours has the latency
            log_level="info",
            timeout_graceful_shutdown=30,
            http="h11",  # the parser that enforces the header limit
            h11_max_incomplete_event_size=HEADER_LIMIT,
            limit_concurrency=max_connections,
            timeout_keep_alive=KEEP_ALIVE_TIMEOUT,
        )
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
