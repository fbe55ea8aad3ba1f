"""Browser sessions: who a cookie is, its conversation, its tasks, its event log and its rate limit.

The cookie holds a random secret; everything else (the conversation key stored with sessions in the
database, the map below) uses its SHA-256, so the database never holds a usable cookie. Because that
hash is stable, an answer delivered after a restart still finds the browser that asked for it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from adapters.web.events import EventLog, new_boot
from bot.schemas import Language


def conversation_of(cookie: str) -> str:
    """The stable, non-secret name of a browser session."""
    return hashlib.sha256(cookie.encode()).hexdigest()[:32]


class RateLimit:
    """At most ``per_minute`` requests in any sliding minute."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._per_minute = per_minute
        self._clock = clock
        self._times: deque[float] = deque()

    def allow(self) -> float:
        """0 when allowed (and counted), else the seconds until the next request would be."""
        now = self._clock()
        while self._times and now - self._times[0] >= 60.0:
            self._times.popleft()
        if len(self._times) >= self._per_minute:
            return 60.0 - (now - self._times[0])
        self._times.append(now)
        return 0.0


class BrowserSession:
    """One browser (one cookie): its conversation thread, its tasks and what its page has been sent."""

    def __init__(self, conversation: str, per_minute: int, boot: str) -> None:
        self.conversation = conversation
        self.thread = "1"  # /new moves to the next thread: the next request starts from scratch
        self.log = EventLog(boot)
        self.tasks: dict[str, None] = {}  # tasks of this browser in order (their traces are visible to it)
        self.started: set[str] = set()  # tasks whose RUN_STARTED is in the log
        self.languages: dict[str, Language] = {}  # of the tasks whose progress came in (a request's language)
        self.answered: set[str] = set()  # tasks whose answer is in the log: a second delivery adds nothing
        self.limit = RateLimit(per_minute)
        self.streams = 0

    @property
    def thread_id(self) -> str:
        """The AG-UI thread: this browser's current conversation."""
        return f"{self.conversation}:{self.thread}"

    def new_thread(self) -> None:
        """``/new``: forget the previous plan for follow-ups."""
        self.thread = str(int(self.thread) + 1) if self.thread.isdigit() else "1"


class SessionRegistry:
    """Browser sessions by conversation, least recently used first out once there are too many (an evicted
    browser's next answer starts it a fresh log; with the per-session log bound, memory stays under ~0.5 GB)."""

    def __init__(self, *, per_minute: int, limit: int = 1000) -> None:
        self._sessions: OrderedDict[str, BrowserSession] = OrderedDict()
        self._per_minute = per_minute
        self._limit = limit
        self._secret = secrets.token_bytes(32)  # CSRF tokens; a restart asks the page for a new one
        self.boot = new_boot()  # event IDs of this run
        self._owners: OrderedDict[str, str] = OrderedDict()  # task -> conversation, newest last

    def get(self, conversation: str) -> BrowserSession:
        """The session of a conversation, created when first seen (also by an answer after a restart)."""
        session = self._sessions.get(conversation)
        if session is None:
            session = self._sessions[conversation] = BrowserSession(conversation, self._per_minute, self.boot)
            self._evict()
        self._sessions.move_to_end(conversation)
        return session

    def find(self, conversation: str) -> BrowserSession | None:
        """The session of a conversation if this process knows it."""
        return self._sessions.get(conversation)

    def claim(self, session: BrowserSession, task_id: str) -> None:
        """``task_id`` is this browser's: its trace is visible to it and its deliveries are shown on its page."""
        session.tasks[task_id] = None
        self._owners[task_id] = session.conversation
        self._owners.move_to_end(task_id)
        while len(self._owners) > self._limit * 20:
            self._owners.popitem(last=False)

    def owner(self, task_id: str) -> BrowserSession | None:
        """The browser a task belongs to, if this process knows it."""
        conversation = self._owners.get(task_id)
        return self._sessions.get(conversation) if conversation is not None else None

    def csrf_token(self, conversation: str) -> str:
        """The token a POST of this browser must carry (only same-origin script can read it)."""
        return hmac.new(self._secret, conversation.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, conversation: str, token: str) -> bool:
        """Whether ``token`` is this browser's CSRF token."""
        return hmac.compare_digest(self.csrf_token(conversation), token)

    def _evict(self) -> None:
        for conversation in list(self._sessions):
            if len(self._sessions) <= self._limit:
                return
            if self._sessions[conversation].streams == 0:
                del self._sessions[conversation]
