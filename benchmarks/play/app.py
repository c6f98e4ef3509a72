"""The web app (FastAPI): the page, its JSON API and the catalog's images.

    GET  /                               the page (HTML; its script and style at /play.js and /play.css)
    GET  /api/options                    agents, users, attributes, limits
    POST /api/sessions                   {"mode": "play" | "whittlesearch", "agent": name} -> a new dialog
    POST /api/sessions/{session}/turns   {"feedback": text} or {"attributes": [{"attribute", "relation"}]}
    POST /api/watch                      {"agent": name, "user": name} -> a simulated dialog, every turn
    GET  /api/images/{item}.png          catalog item `item` rendered (cached)

Bad input is answered with a 4xx and a JSON body {"detail": message}: 400 for a request the game
refuses, 404 for an unknown session or item, 413 for a body over MAX_BODY_BYTES, 422 for a body that
is not the expected JSON. Nothing in a URL reaches the file system: items are integers checked
against the catalog and sessions are random tokens looked up in memory.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from typing import Any, Literal

from simulators.extras import missing_extra

try:
    import uvicorn
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import HTMLResponse, JSONResponse, Response
except ImportError as err:
    raise missing_extra(err.name or "fastapi", "play", "the play page (python -m benchmarks.play)") from err
from pydantic import BaseModel, ConfigDict, Field

from benchmarks.play.game import Game, NotFound, PlayError
from benchmarks.play.page import PAGE_CSS, PAGE_HTML, PAGE_JS

MAX_BODY_BYTES = 8192
"""Largest request body accepted (a turn is well under 1 KB)."""
ITEM = re.compile(r"[0-9]{1,9}")
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                               "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}


class NewSession(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["play", "whittlesearch"]
    agent: str = Field(default="", max_length=100)


class AttributeButton(BaseModel):
    model_config = ConfigDict(extra="forbid")
    attribute: str = Field(max_length=40)
    relation: Literal["more", "less"]


class TurnRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    feedback: str | None = Field(default=None, max_length=2000)  # the game's own, lower limit applies too
    attributes: list[AttributeButton] | None = Field(default=None, max_length=10)


class WatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agent: str = Field(max_length=100)
    user: str = Field(max_length=100)


class Guard:
    """ASGI middleware around the app: the security headers on every response, and a request body over `limit`
    bytes refused with 413 before the app reads it whole (by its Content-Length, or while it streams in)."""

    def __init__(self, app: Any, limit: int):
        self.app, self.limit = app, limit
        self.headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in self.headers if h[0] not in present)]
            await send(message)

        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await _too_large(self.limit)(scope, receive, send_with_headers)
            return
        received, exceeded = 0, False

        async def limited_receive() -> dict:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    exceeded = True
                    raise _BodyTooLarge()
            return message

        async def guarded_send(message: dict) -> None:
            if not exceeded:  # the app's answer to a body cut short (FastAPI's 400) is replaced by the 413 below
                await send_with_headers(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _BodyTooLarge:
            pass
        if exceeded:
            await _too_large(self.limit)(scope, receive, send_with_headers)


class _BodyTooLarge(Exception):
    pass


def _too_large(limit: int) -> JSONResponse:
    return JSONResponse({"detail": f"request body over {limit} bytes"}, status_code=413)


def _turn_result(session: Any, record: dict[str, Any] | None) -> dict[str, Any]:
    dialog = session.dialog
    out: dict[str, Any] = {"turn": len(dialog.sentences), "turns": dialog.turns, "image": dialog.shown[-1],
                           "done": record is not None}
    if record is not None:
        out["found"] = record["found"]
        out["result"] = {k: record[k] for k in ("dialog", "mode", "agent", "target", "shown", "sentences", "ranks",
                                                "rank_percentiles", "n_items", "found", "turns")}
    return out


def create_app(game: Game) -> FastAPI:
    """The web app over `game` (the catalog, agents, sessions and log it serves)."""
    app = FastAPI(title="Dialog-based interactive image retrieval: play the shopper", docs_url=None,
                  redoc_url=None, openapi_url=None)
    app.state.game = game

    @app.exception_handler(PlayError)
    async def refused(request: Request, err: PlayError) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=404 if isinstance(err, NotFound) else 400)

    @app.exception_handler(RequestValidationError)
    async def malformed(request: Request, err: RequestValidationError) -> JSONResponse:
        problems = []
        for e in err.errors()[:5]:
            where = ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body"
            problems.append(f"{where}: {e.get('msg', 'invalid')}")
        return JSONResponse({"detail": "malformed request: " + "; ".join(problems)}, status_code=422)

    @app.get("/", response_class=HTMLResponse)
    def page() -> HTMLResponse:
        return HTMLResponse(PAGE_HTML)

    @app.get("/play.js")
    def script() -> Response:
        return Response(PAGE_JS, media_type="text/javascript")

    @app.get("/play.css")
    def style() -> Response:
        return Response(PAGE_CSS, media_type="text/css")

    @app.get("/api/options")
    def options() -> dict[str, Any]:
        return game.options()

    @app.post("/api/sessions")
    def new_session(body: NewSession) -> dict[str, Any]:
        session = game.new_session(body.mode, body.agent)
        dialog = session.dialog
        return {"session": session.id, "mode": dialog.mode, "agent": dialog.agent_name, "target": dialog.target,
                "image": dialog.shown[0], "turn": 0, "turns": dialog.turns}

    @app.post("/api/sessions/{session_id}/turns")
    def turn(session_id: str, body: TurnRequest) -> dict[str, Any]:
        attributes = None if body.attributes is None else [(b.attribute, b.relation) for b in body.attributes]
        session, record = game.answer(session_id, body.feedback, attributes)
        return _turn_result(session, record)

    @app.post("/api/watch")
    def watch(body: WatchRequest) -> dict[str, Any]:
        return game.watch(body.agent, body.user)

    @app.get("/api/images/{item}.png")
    def image(item: str) -> Response:
        if not ITEM.fullmatch(item):
            raise NotFound(f"no item {json.dumps(item[:20])}: items are integers")
        data = game.images.png(int(item))
        return Response(data, media_type="image/png", headers={"cache-control": "private, max-age=3600"})

    app.add_middleware(Guard, limit=MAX_BODY_BYTES)  # outermost: runs before anything reads the body
    return app


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port) for uvicorn, with TCP_NODELAY (inherited by the connections it accepts):
    without it a kept-alive connection waits about 40 ms per response for the client's delayed ACK."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


class BackgroundServer:
    """The app served by uvicorn from a thread of this process, on a socket it binds itself (port 0: any free
    port), for tests, the screenshot and the load test: `with BackgroundServer(app) as server: server.url`."""

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 0):
        self.socket = listening_socket(host, port)
        bound_host, bound_port = self.socket.getsockname()[:2]
        self.url = f"http://{bound_host}:{bound_port}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True,
                                       name="play-server")

    def __enter__(self) -> BackgroundServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the web app did not start at {self.url}")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()
