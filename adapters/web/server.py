"""The page's HTTP routes: the page itself, sending a message, the SSE event stream and the trace search."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web

from adapters.web.events import resume_point
from adapters.web.guard import SESSION_KEY, TOKEN_KEY, guard, is_admin, on_prepare, session_of
from adapters.web.sessions import BrowserSession, SessionRegistry
from adapters.web.settings import WebSettings
from bot.ports import Submitted
from bot.wording.page import browser_language, page_labels

log = logging.getLogger("tourguide.web")

STATIC = Path(__file__).parent / "static"
HEARTBEAT_S = 15.0  # a comment line keeps proxies from closing an idle stream
TRACE_RESULTS = 20


class TraceRows(Protocol):
    """Read-only trace access: the hops of a task, and tasks whose hops mention a topic."""

    async def traces(self, task_id: str) -> Sequence[tuple[float, str, str]]: ...

    async def find_tasks(self, text: str, limit: int) -> list[str]: ...


class PageBackend(Protocol):
    """What the routes need of the web adapter (``adapters.web.adapter.WebAdapter``)."""

    settings: WebSettings
    sessions: SessionRegistry
    traces: TraceRows | None

    async def submit(self, session: BrowserSession, text: str) -> Submitted: ...


ADAPTER_KEY: web.AppKey[PageBackend] = web.AppKey("adapter")


def build_app(adapter: PageBackend) -> web.Application:
    """The aiohttp application serving ``adapter``."""
    app = web.Application(middlewares=[guard], client_max_size=64 * 1024)
    app[ADAPTER_KEY] = adapter
    app[SESSION_KEY] = adapter.sessions
    app[TOKEN_KEY] = adapter.settings.token.get_secret_value()
    app.on_response_prepare.append(on_prepare)
    app.router.add_get("/", index)
    app.router.add_get("/trace", index)
    app.router.add_get("/api/session", session_info)
    app.router.add_post("/api/messages", post_message)
    app.router.add_get("/events", events)
    app.router.add_get("/api/trace", trace)
    app.router.add_static("/static/", STATIC)
    return app


async def index(request: web.Request) -> web.StreamResponse:
    """The one page (the chat and the trace view are two tabs of it)."""
    session_of(request)  # a first visit gets its cookie here
    return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})


async def session_info(request: web.Request) -> web.Response:
    """The CSRF token for this browser's POSTs (readable only by our own origin's script), and the page's words
    in the browser's language."""
    session = session_of(request)
    adapter = request.app[ADAPTER_KEY]
    admin = adapter.settings.admin_token.get_secret_value()
    words = page_labels(browser_language(request.headers.get("Accept-Language", "")))
    return web.json_response({"csrf": adapter.sessions.csrf_token(session.conversation),
                              "thread": session.thread_id, "admin": is_admin(request, admin), "words": words},
                             headers={"Cache-Control": "no-store", "Vary": "Accept-Language"})


async def post_message(request: web.Request) -> web.Response:
    """A message from the page: 202 with its task ID (progress and answer arrive on /events)."""
    session = session_of(request)
    adapter = request.app[ADAPTER_KEY]
    try:
        body: Any = await request.json()
    except ValueError as exc:
        raise web.HTTPBadRequest(text="expected a JSON body") from exc
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise web.HTTPBadRequest(text="the message is empty")
    if text.strip().lower() == "/new":
        session.new_thread()
        return web.json_response({"new_conversation": True, "thread": session.thread_id})
    wait = session.limit.allow()
    if wait:
        return web.json_response({"error": "rate_limited", "retry_after_s": round(wait, 1)}, status=429,
                                 headers={"Retry-After": str(int(wait) + 1)})
    submitted = await adapter.submit(session, text)
    return web.json_response({"task_id": submitted.task_id, "started": submitted.started}, status=202)


async def events(request: web.Request) -> web.StreamResponse:
    """The browser's AG-UI events over SSE; ``Last-Event-ID`` resumes right after the last one seen."""
    session = session_of(request)
    after = resume_point(request.headers.get("Last-Event-ID"), session.log.boot)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8",
                                           "Cache-Control": "no-store", "X-Accel-Buffering": "no"})
    await response.prepare(request)
    session.streams += 1
    try:
        await response.write(b"retry: 1000\n\n")  # reconnect after a second, not the browser's default 3 s
        while True:
            frames = await session.log.wait_after(after, HEARTBEAT_S)
            if not frames:
                await response.write(b": keep-alive\n\n")
                continue
            await response.write(b"".join(frame.sse() for frame in frames))
            after = frames[-1].seq
    except ConnectionResetError:
        pass  # the browser left: it resumes with Last-Event-ID
    finally:
        session.streams -= 1
    return response


async def trace(request: web.Request) -> web.Response:
    """Tasks matching ``q`` (a task ID, a topic or a lite topic) with every recorded hop.

    A browser searches its own tasks; the admin token searches all of them.
    """
    session = session_of(request)
    adapter = request.app[ADAPTER_KEY]
    if adapter.traces is None:
        raise web.HTTPNotFound(text="no trace store")
    query = request.query.get("q", "").strip()[:200]
    admin = is_admin(request, adapter.settings.admin_token.get_secret_value())
    if admin and query:
        candidates = await adapter.traces.find_tasks(query, TRACE_RESULTS)
    else:
        candidates = list(reversed(session.tasks))[:200]
    found = []
    for task_id in candidates:
        rows = await adapter.traces.traces(task_id)
        if query and not (query in task_id or any(query in hop or query in detail for _, hop, detail in rows)):
            continue
        found.append({"task_id": task_id,
                      "hops": [{"at": at, "hop": hop, "detail": detail} for at, hop, detail in rows]})
        if len(found) >= TRACE_RESULTS:
            break
    return web.json_response({"query": query, "admin": admin, "tasks": found}, headers={"Cache-Control": "no-store"})
