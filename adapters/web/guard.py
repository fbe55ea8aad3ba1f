"""Who may use the page: the session cookie, the optional access token, CSRF checks, security headers.

- Every browser gets a random session cookie (HttpOnly, SameSite=Lax): its conversation and tasks.
- With ``TOURGUIDE_WEB_TOKEN`` set, nothing but the token prompt is served until the browser presented
  the token once (``/?token=...``, kept in an HttpOnly cookie) or sends ``Authorization: Bearer ...``.
- A POST must come from our own origin (Origin header, when sent) and carry the session's CSRF token,
  which only a script of our own origin can read from ``/api/session``.
- The page's script is the only script allowed to run (Content-Security-Policy): even a rendering bug
  could not execute injected markup.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from http.cookies import SimpleCookie

from aiohttp import web

from adapters.web.sessions import BrowserSession, SessionRegistry, conversation_of

SESSION_COOKIE = "tg_session"
ACCESS_COOKIE = "tg_access"
CSRF_HEADER = "X-CSRF-Token"
ADMIN_HEADER = "X-Admin-Token"
SESSION_KEY = web.AppKey("sessions", SessionRegistry)
TOKEN_KEY = web.AppKey("token", str)
NEW_COOKIE = web.RequestKey("new_cookie", str)
SESSION = web.RequestKey("session", BrowserSession)
HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _access_mark(token: str) -> str:
    # The cookie holds a digest, not the token itself.
    return hashlib.sha256(b"tourguide-web:" + token.encode()).hexdigest()


def _has_access(request: web.Request, token: str) -> bool:
    if not token:
        return True
    bearer = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if bearer and hmac.compare_digest(bearer, token):
        return True
    return hmac.compare_digest(request.cookies.get(ACCESS_COOKIE, ""), _access_mark(token))


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Access token, session cookie and CSRF checks in front of every route."""
    token = request.app[TOKEN_KEY]
    if token and request.path == "/" and "token" in request.query:
        if not hmac.compare_digest(request.query["token"], token):
            raise web.HTTPUnauthorized(text="wrong access token")
        found = web.HTTPSeeOther("/")  # the token leaves the address bar (and the history) at once
        found.set_cookie(ACCESS_COOKIE, _access_mark(token), httponly=True, samesite="Lax", secure=request.secure)
        raise found
    if not _has_access(request, token):
        raise web.HTTPUnauthorized(text="This page needs its access token: open /?token=<TOURGUIDE_WEB_TOKEN>.")
    if request.path.startswith("/static/"):
        return await handler(request)
    cookie = request.cookies.get(SESSION_COOKIE, "")
    if request.method == "POST":
        _check_same_origin(request)
        if not cookie or not request.app[SESSION_KEY].csrf_ok(conversation_of(cookie),
                                                               request.headers.get(CSRF_HEADER, "")):
            raise web.HTTPForbidden(text="missing or stale CSRF token")
    if len(cookie) < 32:
        cookie = secrets.token_urlsafe(32)
        request[NEW_COOKIE] = cookie
    request[SESSION] = request.app[SESSION_KEY].get(conversation_of(cookie))
    return await handler(request)


def _check_same_origin(request: web.Request) -> None:
    origin = request.headers.get("Origin")
    if origin is not None and origin != f"{request.scheme}://{request.host}":
        raise web.HTTPForbidden(text="cross-origin request refused")


async def on_prepare(request: web.Request, response: web.StreamResponse) -> None:
    """Security headers on everything, and the session cookie for a browser seen for the first time."""
    response.headers.update(HEADERS)
    cookie = request.get(NEW_COOKIE)
    if cookie:
        # Response cookies are already in the headers when this signal runs: add the header itself.
        jar: SimpleCookie = SimpleCookie()
        jar[SESSION_COOKIE] = cookie
        morsel = jar[SESSION_COOKIE]
        morsel.update({"path": "/", "samesite": "Lax", "max-age": str(30 * 24 * 3600)})
        morsel["httponly"] = True  # a flag: any true value
        if request.secure:
            morsel["secure"] = True
        response.headers.add("Set-Cookie", morsel.OutputString())


def session_of(request: web.Request) -> BrowserSession:
    """The browser session the guard attached."""
    return request[SESSION]


def is_admin(request: web.Request, admin_token: str) -> bool:
    """Whether the request presents the admin token (every task's trace)."""
    given = request.headers.get(ADMIN_HEADER, "")
    return bool(admin_token and given and hmac.compare_digest(given, admin_token))
