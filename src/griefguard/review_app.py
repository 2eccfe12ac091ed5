"""The review page over HTTP (FastAPI on uvicorn; the `serve` extra): `griefguard review` and `serve --review`.

    GET  /review/                           the page; its script and style come from /review/static/, nothing
                                            from anywhere else
    GET  /review/api/queue                  the replies with their scores, labels and decisions
    GET  /review/api/explain?ids=3,4        the terms behind each score and where they stand in the text
    POST /review/api/decide                 {"ids": [3], "label": "critical"} (null takes the decision back)
    GET  /review/api/fit?threshold=&target= precision, recall and flag rate from the decisions so far, and the
                                            lowest threshold that reaches the target precision

Safe by default: replies are shown as text (the page never parses them as HTML, and a Content-Security-Policy
allows only the page's own script); a request body is at most MAX_BODY bytes; writes need a JSON body (a form
on another site cannot post one). Without a token only requests addressed to 127.0.0.1 or localhost are
answered (a DNS-rebinding page cannot reach it); with a token (required when bound to anything but 127.0.0.1)
every request must carry it: `?token=` once (the page then keeps it in a same-site cookie) or
`Authorization: Bearer`.
"""

from __future__ import annotations

import hmac
import sys
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from griefguard.errors import OutputError
from griefguard.http_common import BodyLimit, install_error_handlers
from griefguard.review import ReviewQueue, fit_threshold
from griefguard.review_settings import ReviewSettings, check_token_for

__all__ = ["MAX_BODY", "DecideRequest", "create_review_app", "mount_review", "review_files", "router", "run_review"]

PREFIX = "/review"
MAX_BODY = 64 * 1024  # bytes in one request body (a decision on up to 1,000 replies fits)
MAX_EXPLAIN = 200  # replies explained in one request
TOKEN_COOKIE = "griefguard_token"
LOCAL_NAMES = {"127.0.0.1", "localhost"}
STATIC = {"review.js": "text/javascript; charset=utf-8", "review.css": "text/css; charset=utf-8"}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


class DecideRequest(BaseModel):
    """The moderator's label for one or more replies of the queue; null takes their decisions back."""

    model_config = ConfigDict(extra="forbid")

    ids: list[StrictInt] = Field(min_length=1, max_length=1000, description="Queue ids of the replies.")
    label: str | None = Field(description="critical, supportive or neutral; null to take the decision back.")


class DecideResponse(BaseModel):
    decided: dict[str, str | None] = Field(description="Every queue id the decision applies to, with its label.")
    decisions: int = Field(description="Decisions in the file now.")


def _page_file(name: str) -> bytes:
    return resources.files("griefguard").joinpath("review_page", name).read_bytes()


def _shown(path: Path) -> str:
    """A path as the moderator typed it: relative to the folder the page was started in, when it is below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _host_name(header: str) -> str:
    """The host of a Host header, without the port ("[::1]:8000" -> "[::1]")."""
    if header.startswith("["):
        return header.split("]", 1)[0] + "]"
    return header.rsplit(":", 1)[0] if ":" in header else header


def _guard(request: Request) -> None:
    """The check every review request passes: the app's review token when it has one, else a loopback Host."""
    token = request.app.state.review_token
    if token is None:
        if _host_name(request.headers.get("host", "")) not in LOCAL_NAMES:
            raise HTTPException(403, "the review page answers only requests to 127.0.0.1 (or give it a --token)")
        return
    given = request.cookies.get(TOKEN_COOKIE) or request.query_params.get("token") or ""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        given = auth[7:].strip()
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise HTTPException(
            401, "a valid token is required: open the page with ?token=...", headers={"WWW-Authenticate": "Bearer"}
        )


def _same_origin_json(request: Request) -> None:
    """Writes need a JSON body and, when the browser says where the page came from, this origin."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise HTTPException(415, "send the decision as application/json")
    origin = request.headers.get("origin")
    if origin is not None and origin.split("://", 1)[-1] != request.headers.get("host", ""):
        raise HTTPException(403, "a decision must come from the review page itself")


def _queue(request: Request) -> ReviewQueue:
    """The app's review queue; 503 while it is built, or with the reason it could not be."""
    state = request.app.state
    if getattr(state, "review_error", None) is not None:
        raise HTTPException(503, state.review_error)
    if state.review_queue is None:
        raise HTTPException(503, "the review queue is being prepared; try again in a moment")
    return state.review_queue


Queue = Annotated[ReviewQueue, Depends(_queue)]
router = APIRouter(prefix=PREFIX, dependencies=[Depends(_guard)], include_in_schema=False)


@router.get("/")
def page(request: Request) -> Response:
    if "token" in request.query_params:  # keep the token in a cookie and take it out of the address bar
        response: Response = RedirectResponse(f"{PREFIX}/", status_code=303)
        response.set_cookie(TOKEN_COOKIE, request.query_params["token"], httponly=True, samesite="strict", path=PREFIX)
        return response
    return Response(_page_file("index.html"), media_type="text/html; charset=utf-8", headers=SECURITY_HEADERS)


@router.get("")
def page_without_slash() -> RedirectResponse:
    return RedirectResponse(f"{PREFIX}/", status_code=307)


@router.get("/static/{name}")
def static(name: str) -> Response:
    if name not in STATIC:
        raise HTTPException(404, "not found")
    return Response(_page_file(name), media_type=STATIC[name], headers=SECURITY_HEADERS)


@router.get("/api/queue")
def queue_items(q: Queue) -> JSONResponse:
    body = {
        "model": q.model_name,
        "threshold": q.threshold,
        "model_threshold": q.scorer.threshold,
        "labels": list(q.scorer.labels),
        "files": q.files,
        "decisions_file": _shown(q.log.path),
        "decisions": len(q.log),
        "items": [q.entry(item) for item in q.items],
    }
    return JSONResponse(body, headers=SECURITY_HEADERS)


@router.get("/api/explain")
def explain(q: Queue, ids: str = Query(description="Comma-separated queue ids.", max_length=4000)) -> JSONResponse:
    try:
        wanted = [int(i) for i in ids.split(",") if i.strip()]
    except ValueError:
        raise HTTPException(422, "ids must be comma-separated integers") from None
    if len(wanted) > MAX_EXPLAIN:
        raise HTTPException(413, f"at most {MAX_EXPLAIN} replies explained at once")
    if any(not 0 <= i < len(q.items) for i in wanted):
        raise HTTPException(404, "no such reply in the queue")
    return JSONResponse({"explanations": q.explanations(wanted)}, headers=SECURITY_HEADERS)


@router.post("/api/decide", dependencies=[Depends(_same_origin_json)], response_model=DecideResponse)
def decide(body: DecideRequest, q: Queue) -> DecideResponse:
    if body.label is not None and body.label not in q.scorer.labels:
        raise HTTPException(422, f"unknown label {body.label!r}; expected {', '.join(q.scorer.labels)}")
    if any(not 0 <= i < len(q.items) for i in body.ids):
        raise HTTPException(404, "no such reply in the queue")
    decided: dict[str, str | None] = {}
    for i in dict.fromkeys(body.ids):
        if str(i) in decided:
            continue  # the same reply elsewhere in the queue, decided with it
        try:
            q.decide(i, body.label)
        except OutputError as exc:
            # Nothing is shown as saved that is not on disk: the page keeps the others' previous state.
            raise HTTPException(507, f"{exc} (saved before the error: {sorted(map(int, decided))})") from None
        for same in q.decided_ids(q.items[i].key):
            decided[str(same)] = body.label
    return DecideResponse(decided=decided, decisions=len(q.log))


@router.get("/api/fit")
def fit(
    q: Queue,
    threshold: float = Query(ge=0.0, le=1.0, description="The threshold to measure."),
    target: float = Query(0.9, ge=0.0, le=1.0, description="The precision to reach."),
) -> JSONResponse:
    return JSONResponse(fit_threshold(q.log.decisions(), threshold, target), headers=SECURITY_HEADERS)


def mount_review(app: FastAPI, token: str | None, queue: ReviewQueue | None = None) -> None:
    """Serve the review page under /review in `app`: its queue is `app.state.review_queue` (None until built;
    `app.state.review_error` says why it could not be), guarded by `token` (None: loopback requests only)."""
    app.state.review_queue, app.state.review_error, app.state.review_token = queue, None, token
    app.include_router(router)


def create_review_app(queue: ReviewQueue, token: str | None = None) -> FastAPI:
    """The review page alone (what `griefguard review` serves); `/` leads to it."""
    from griefguard import __version__

    app = FastAPI(title="griefguard review", version=__version__, docs_url=None, redoc_url=None, openapi_url=None)
    install_error_handlers(app)
    app.add_middleware(BodyLimit, limits={PREFIX: MAX_BODY})
    mount_review(app, token, queue)
    app.add_api_route("/", lambda: RedirectResponse(f"{PREFIX}/", status_code=307), methods=["GET"])
    return app


def run_review(queue: ReviewQueue, host: str = "127.0.0.1", port: int = 0, token: str | None = None) -> None:
    """Serve the review page until Ctrl-C or SIGTERM; print its address first (nothing is opened by itself)."""
    import uvicorn

    from griefguard.http_common import HEADER_LIMIT, KEEP_ALIVE_TIMEOUT, listen

    token = check_token_for(host, token)
    sock = listen(host, port)
    shown = f"[{host}]" if ":" in host else host
    address = f"http://{shown}:{sock.getsockname()[1]}{PREFIX}/"
    print(f"review page: {address}", flush=True)
    if token is not None:
        print("open it once with ?token=<your token>; the page keeps it in a cookie", flush=True)
    print(f"decisions are saved to {queue.log.path} ({len(queue.log)} so far); Ctrl-C stops", flush=True)
    config = uvicorn.Config(
        create_review_app(queue, token),
        log_level="warning",
        access_log=False,
        http="h11",
        h11_max_incomplete_event_size=HEADER_LIMIT,
        timeout_keep_alive=KEEP_ALIVE_TIMEOUT,
        limit_concurrency=64,
    )
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    sys.stderr.write(f"stopped; {len(queue.log)} decisions in {queue.log.path}\n")


def review_files(
    settings: ReviewSettings,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    model: Path | None = None,
    warn: Callable[[str], None] = lambda message: sys.stderr.write(f"warning: {message}\n"),
) -> None:
    """`griefguard review`: check everything (token, decisions file, inputs, model), score the replies, then serve
    the page until stopped. Every problem is one line before the server starts."""
    from griefguard.scorer import load_scorer

    settings = settings.checked(host)
    queue, skips = settings.build(load_scorer(model))
    for skip in skips[:20]:
        warn(f"{skip.source}:{skip.line}: skipped: {skip.reason}")
    if len(skips) > 20:
        warn(f"... and {len(skips) - 20} more skipped records")
    run_review(queue, host, port, settings.token)
