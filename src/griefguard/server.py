"""`griefguard serve`: the scorer as an HTTP service (FastAPI on uvicorn; the `serve` extra).

    POST /v1/classify   {"text": "..."} or {"texts": ["...", ...], "ids": [...]}; ?explain=true adds reasons
    GET  /v1/model      the model card
    GET  /healthz       the process is up
    GET  /readyz        the model is loaded (503 until then)
    GET  /docs          OpenAPI documentation (generated from the request and response models)
    /review/            with `--review FILE`: the review page (`review_app`)

Bad input gets a JSON error with the right status and never a bare 500 (`http_common`): malformed JSON or invalid
UTF-8 400, wrong types 422, a batch over --max-batch or a body over --max-bytes 413 (refused while it streams in),
a stalled body 408. Scoring runs in a bounded thread pool, so the event loop keeps answering while a batch is
scored; the replies of requests that arrive together are scored in one call (`Batcher`), which is what keeps
single-reply requests fast under load. uvicorn finishes requests in flight on SIGTERM. One access-log line per
request gives method, path, status, replies and latency.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, model_validator

from griefguard import __version__
from griefguard.errors import GriefguardError
from griefguard.http_common import (
    HEADER_LIMIT,
    KEEP_ALIVE_TIMEOUT,
    AccessLog,
    BodyLimit,
    install_error_handlers,
    listen,
)
from griefguard.reading import replace_surrogates
from griefguard.review_settings import ReviewSettings
from griefguard.scorer import Scorer, load_scorer

__all__ = ["ClassifyRequest", "ClassifyResponse", "create_app", "run_server"]

ENV_PREFIX = "GRIEFGUARD_SERVE_"  # how `serve --workers N` hands its options to each worker process


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


router = APIRouter()


def _ready(request: Request) -> Scorer:
    """The loaded model, or 503 while it loads (or when it could not be loaded)."""
    scorer = request.app.state.scorer
    if scorer is None:
        raise HTTPException(503, request.app.state.error or "model is loading")
    return scorer


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The model is loaded", responses={503: {"description": "Not ready yet"}})
async def readyz(request: Request) -> dict[str, str]:
    _ready(request)
    return {"status": "ready"}


@router.get("/v1/model", summary="The model card", responses={503: {"description": "Not ready yet"}})
async def model_card(request: Request) -> JSONResponse:
    return JSONResponse(dict(_ready(request).card))


@router.post(
    "/v1/classify",
    response_model=ClassifyResponse,
    response_model_exclude_unset=True,  # each result has its record's fields (id: null when none was sent)
    summary="Score replies",
    responses={
        400: {"description": "Malformed JSON or invalid UTF-8"},
        408: {"description": "The body stalled"},
        413: {"description": "Too many replies, or a body too large"},
        422: {"description": "Wrong fields or types"},
        503: {"description": "The model is not loaded yet"},
    },
)
async def classify(
    body: ClassifyRequest,
    request: Request,
    explain: Annotated[bool, Query(description="Add the terms behind each score.")] = False,
) -> dict[str, Any]:
    scorer = _ready(request)
    texts, parents, posts, ids = body.replies()
    texts = replace_surrogates(texts)  # "\\ud800" in JSON is a lone surrogate: replaced, as the CLI does
    parents = None if parents is None else replace_surrogates(parents)
    posts = None if posts is None else replace_surrogates(posts)
    request.state.replies = len(texts)  # for the access log
    if len(texts) > request.app.state.max_batch:
        raise HTTPException(413, f"{len(texts)} replies in one request; at most {request.app.state.max_batch}")
    results = await request.app.state.batcher.score(texts, parents, posts, ids, explain)
    return {"model": scorer.name, "threshold": scorer.threshold, "results": results}


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

    def load(app: FastAPI) -> None:
        try:
            app.state.scorer = load_scorer(model)
        except GriefguardError as exc:
            app.state.error = str(exc)
            logging.getLogger("griefguard").error("error: %s", exc)
            return
        if review is not None:
            _build_review(app, review)

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        if app.state.scorer is None:
            await asyncio.get_running_loop().run_in_executor(pool, load, app)
        elif review is not None:
            await asyncio.get_running_loop().run_in_executor(pool, _build_review, app, review)
        if app.state.scorer is not None:
            # The model's vocabulary is a few large dicts that live as long as the process: keep them out of the
            # garbage collector's full passes, which would otherwise stall requests now and then.
            gc.freeze()
            app.state.batcher = Batcher(app.state.scorer, pool, slots=threads)
            app.state.batcher.task = asyncio.create_task(app.state.batcher.run())
        yield
        if app.state.batcher is not None:
            app.state.batcher.task.cancel()
        pool.shutdown(wait=True)

    app = FastAPI(
        title="griefguard",
        version=__version__,
        description="Flags critical replies to posts about a loss; lets supportive and neutral ones through.",
        lifespan=lifespan,
    )
    app.state.scorer, app.state.error, app.state.batcher, app.state.max_batch = scorer, None, None, max_batch
    install_error_handlers(app)
    app.include_router(router)
    limits = {"/v1/": max_bytes}
    if review is not None:
        from griefguard.review_app import MAX_BODY, PREFIX, mount_review

        mount_review(app, review.token)
        limits[PREFIX] = MAX_BODY
    app.add_middleware(BodyLimit, limits=limits, json=("/v1/",))
    app.add_middleware(AccessLog, enabled=access_log)
    return app


def _build_review(app: FastAPI, review: ReviewSettings) -> None:
    try:
        app.state.review_queue, skips = review.build(app.state.scorer)
        if skips:
            logging.getLogger("griefguard").warning("review: %d records skipped", len(skips))
    except GriefguardError as exc:
        app.state.review_error = f"the review queue could not be built: {exc}"
        logging.getLogger("griefguard").error("error: %s", app.state.review_error)


def app_from_environment() -> Any:
    """The app for `serve --workers N`: each worker process builds it from the options in the environment."""
    _configure_logging()  # in every worker process: with --workers, each is a fresh interpreter
    env = os.environ
    return create_app(
        env.get(f"{ENV_PREFIX}MODEL") or None,
        threads=int(env.get(f"{ENV_PREFIX}THREADS", "4")),
        max_batch=int(env.get(f"{ENV_PREFIX}MAX_BATCH", "1000")),
        max_bytes=int(env.get(f"{ENV_PREFIX}MAX_BYTES", "4000000")),
        access_log=env.get(f"{ENV_PREFIX}ACCESS_LOG", "1") == "1",
    )


def _configure_logging() -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    for name in ("griefguard", "griefguard.access"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        if not logger.handlers:
            logger.addHandler(handler)
        logger.propagate = False


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
    KEEP_ALIVE_TIMEOUT seconds. One process runs the app in place; with several, uvicorn starts each worker from
    the import string, and the options travel in the environment of those workers only."""
    import uvicorn

    from griefguard.model_file import default_model_path, load_model

    if review is not None:
        review = review.checked(host, workers)  # the files, the decisions file and the token, before anything
    check_port(host, port)
    path = Path(model) if model is not None else default_model_path()
    loaded = load_model(path)  # a bad model file is a clear one-line error now, not a worker crash later
    if review is not None:
        review.check_decisions(loaded.labels)
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "access_log": False,  # ours has the latency
        "log_level": "info",
        "timeout_graceful_shutdown": 30,
        "http": "h11",  # the parser that enforces the header limit
        "h11_max_incomplete_event_size": HEADER_LIMIT,
        "limit_concurrency": max_connections,
        "timeout_keep_alive": KEEP_ALIVE_TIMEOUT,
    }
    if workers == 1:
        _configure_logging()
        app = create_app(
            path.resolve(),
            threads=threads,
            max_batch=max_batch,
            max_bytes=max_bytes,
            access_log=access_log,
            review=review,
        )
        uvicorn.run(app, **options)
        return
    settings = {
        f"{ENV_PREFIX}MODEL": str(path.resolve()),
        f"{ENV_PREFIX}THREADS": str(threads),
        f"{ENV_PREFIX}MAX_BATCH": str(max_batch),
        f"{ENV_PREFIX}MAX_BYTES": str(max_bytes),
        f"{ENV_PREFIX}ACCESS_LOG": "1" if access_log else "0",
    }
    saved = {k: os.environ.get(k) for k in settings}
    os.environ.update(settings)  # read by the worker processes as they start; put back when the server stops
    try:
        uvicorn.run("griefguard.server:app_from_environment", factory=True, workers=workers, **options)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
