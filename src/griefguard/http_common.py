"""What the service and the review page share over HTTP: one JSON shape for every error, request-body limits that
act while a body streams in, the access log, and a listening socket that fails in one line.

Every error is `{"error": "...", "detail": ...}` with its status, never a traceback: 404 and 405, invalid requests
(422), a body that is not JSON or not UTF-8 (400), too large (413) or stalled (408), anything unexpected (500,
with the traceback in the server's log).
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import socket
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from griefguard.errors import GriefguardError

__all__ = [
    "BODY_READ_TIMEOUT",
    "HEADER_LIMIT",
    "KEEP_ALIVE_TIMEOUT",
    "AccessLog",
    "BodyLimit",
    "error_response",
    "install_error_handlers",
    "listen",
]

log = logging.getLogger("griefguard.access")

BODY_READ_TIMEOUT = 10.0  # seconds a request body may stall between two chunks before the request is refused
HEADER_LIMIT = 64 * 1024  # bytes of request line and headers (enforced by the h11 parser, which the servers use)
KEEP_ALIVE_TIMEOUT = 5  # seconds an idle keep-alive connection is kept open
_PARSE_ERROR = "There was an error parsing the body"  # FastAPI's detail when a JSON body cannot be decoded


def error_response(
    status: int, message: str, detail: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The one error shape: `{"error": message}`, with `detail` when there is more to say."""
    body: dict[str, Any] = {"error": message}
    if detail is not None:
        body["detail"] = detail
    return JSONResponse(body, status_code=status, headers=headers)


def _unreadable_body(cause: BaseException | None) -> str:
    """Why FastAPI could not read a JSON body, in our words."""
    if isinstance(cause, UnicodeDecodeError):
        return f"body is not valid UTF-8 (byte {cause.start})"
    if isinstance(cause, RecursionError):
        return "malformed JSON: nested too deeply"
    if isinstance(cause, ValueError):  # an integer of thousands of digits, which Python refuses to convert
        return f"malformed JSON: {cause}".split(";")[0]
    return "malformed JSON"


def _position(document: Any, pos: int) -> str:
    if not isinstance(document, str | bytes):
        return f"at character {pos}"
    text = document if isinstance(document, str) else document.decode("utf-8", "replace")
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"at line {line} column {column}"


def install_error_handlers(app: FastAPI) -> None:
    """Give every error of `app` the one JSON shape (see the module docstring)."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = str(exc.detail) if exc.detail else "error"
        if isinstance(exc.__cause__, _Refused):  # a body limit, hit while FastAPI read the body
            return error_response(exc.__cause__.status, exc.__cause__.message)
        if exc.status_code == 400 and detail == _PARSE_ERROR:
            detail = _unreadable_body(exc.__cause__)
        elif detail == HTTPStatus(exc.status_code).phrase:  # Starlette's own "Not Found": lower-cased as ours are
            detail = detail.lower()
        return error_response(exc.status_code, detail, headers=dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if errors and errors[0].get("type") == "json_invalid":
            where = _position(exc.body, int(errors[0]["loc"][-1]))
            return error_response(400, f"malformed JSON: {errors[0].get('ctx', {}).get('error', 'invalid')} {where}")
        detail = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in errors]
        return error_response(422, "invalid request", detail)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        logging.getLogger("griefguard").exception("unexpected error while answering a request")
        return error_response(500, "internal error", type(exc).__name__)


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status, self.message = status, message


class BodyLimit:
    """Pure ASGI middleware: request bodies under each path prefix are refused as they stream in, so a huge or a
    trickling body never sits in memory for long: over `limits[prefix]` bytes 413, a pause of more than `stall`
    seconds between chunks 408. Under the `json` prefixes a body is read as JSON whatever its content type (so
    `curl -d` works)."""

    def __init__(
        self,
        app: Any,
        limits: dict[str, int],
        stall: float = BODY_READ_TIMEOUT,
        json: tuple[str, ...] = (),
    ) -> None:
        self.app, self.limits, self.stall, self.json = app, limits, stall, json

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        path = scope.get("path", "")
        prefix = next((p for p in self.limits if path.startswith(p)), None)
        if scope["type"] != "http" or prefix is None or scope["method"] in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        limit = self.limits[prefix]
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            await _refuse(send, 413, f"request body larger than {limit} bytes")
            return
        if any(path.startswith(p) for p in self.json) and b"json" not in headers.get(b"content-type", b""):
            scope = {**scope, "headers": [*(h for h in scope["headers"] if h[0] != b"content-type")]}
            scope["headers"].append((b"content-type", b"application/json"))
        seen = 0
        started = False

        async def limited() -> dict:
            nonlocal seen
            try:
                message = await asyncio.wait_for(receive(), self.stall)
            except TimeoutError:
                raise _Refused(408, f"the request body stalled for more than {self.stall:g} s") from None
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _Refused(413, f"request body larger than {limit} bytes")
            return message

        async def watch(message: dict) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, watch)
        except _Refused as refused:
            if not started:
                await _refuse(send, refused.status, refused.message)


async def _refuse(send: Callable, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


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
