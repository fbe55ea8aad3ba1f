"""Slack OAuth state in SQLite: each workspace's installation and bot token, and the OAuth ``state`` values.

Implements slack-sdk's async interfaces (``AsyncInstallationStore``, ``AsyncOAuthStateStore``) on our
aiosqlite :class:`~storage.database.Database`, so Bolt's own OAuth flow saves installations here and
Bolt's ``authorize`` finds each workspace's bot token here. slack-sdk's ``SQLite3InstallationStore``
does blocking ``sqlite3`` I/O on the event loop, and its async store needs SQLAlchemy, which we do not
ship. A row keeps the model as JSON plus its lookup keys as columns; ``None`` keys are stored as ``''``
(as slack-sdk's own SQL stores do) so that ``=`` matches them.

With a key (``TOURGUIDE_SLACK_TOKEN_KEY``, a Fernet key from ``cryptography``) every stored model (it holds
the workspace's bot token) is encrypted at rest; rows written before the key was set stay readable and
are encrypted when next saved. Without a key the tokens are kept in clear in a 0600 file, and a warning
says so at start.
"""

from __future__ import annotations

import json
import logging
import secrets
import sqlite3
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from bot.errors import StorageError
from storage.database import Database

log = logging.getLogger("tourguide.slack.oauth")

SCHEMA = """
CREATE TABLE IF NOT EXISTS slack_installations (
    id INTEGER PRIMARY KEY, client_id TEXT NOT NULL, enterprise_id TEXT NOT NULL, team_id TEXT NOT NULL,
    user_id TEXT NOT NULL, installed_at REAL NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS slack_installations_by_team
    ON slack_installations (client_id, enterprise_id, team_id, installed_at);
CREATE TABLE IF NOT EXISTS slack_bots (
    id INTEGER PRIMARY KEY, client_id TEXT NOT NULL, enterprise_id TEXT NOT NULL, team_id TEXT NOT NULL,
    installed_at REAL NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS slack_bots_by_team ON slack_bots (client_id, team_id, installed_at);
CREATE TABLE IF NOT EXISTS slack_oauth_states (state TEXT PRIMARY KEY, expires_at REAL NOT NULL);
"""
_SEALED = "fernet:"
_BOT_FIELDS = ("bot_token", "bot_id", "bot_user_id", "bot_scopes", "bot_refresh_token", "bot_token_expires_at")


class SlackOAuthStorage:
    """Owns the Slack OAuth database (tables created on open); ``installations`` and ``states`` use it."""

    def __init__(self, path: Path | str, client_id: str, *, state_ttl_s: float = 600.0,
                 clock: Callable[[], float] = time.time, key: str = "") -> None:
        self._db = Database(path, schema=SCHEMA)
        self.installations = SQLiteInstallationStore(self._db, client_id, Sealer(key))
        self.states = SQLiteOAuthStateStore(self._db, state_ttl_s, clock)

    async def __aenter__(self) -> SlackOAuthStorage:
        await self._db.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._db.__aexit__(exc_type, exc, tb)


class SQLiteInstallationStore(AsyncInstallationStore):
    """Installations and bots per workspace/org; the newest save for a key replaces the older one.

    Every method raises StorageError when SQLite fails.
    """

    def __init__(self, db: Database, client_id: str, sealer: Sealer | None = None) -> None:
        self._db = db
        self._client_id = client_id
        self._sealer = sealer or Sealer("")

    @property
    def logger(self) -> logging.Logger:
        """The logger Bolt expects every store to have."""
        return log

    async def async_save(self, installation: Installation) -> None:
        """Save an installation and, when it carries a bot token, its bot."""
        enterprise, team = _keys(installation.enterprise_id, installation.team_id, installation.is_enterprise_install)
        user = installation.user_id or ""
        row = (self._client_id, enterprise, team, user, installation.installed_at,
               self._sealer.seal(_dump(installation)))

        def work(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM slack_installations WHERE client_id = ? AND enterprise_id = ? "
                         "AND team_id = ? AND user_id = ?", row[:4])
            conn.execute(
                "INSERT INTO slack_installations (client_id, enterprise_id, team_id, user_id, installed_at, data) "
                "VALUES (?, ?, ?, ?, ?, ?)", row)

        await self._db.write(work)
        if installation.bot_token:
            await self.async_save_bot(installation.to_bot())

    async def async_save_bot(self, bot: Bot) -> None:
        """Save a workspace's bot (its token), replacing the previous one."""
        enterprise, team = _keys(bot.enterprise_id, bot.team_id, bot.is_enterprise_install)
        row = (self._client_id, enterprise, team, bot.installed_at, self._sealer.seal(_dump(bot)))

        def work(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM slack_bots WHERE client_id = ? AND enterprise_id = ? AND team_id = ?", row[:3])
            conn.execute(
                "INSERT INTO slack_bots (client_id, enterprise_id, team_id, installed_at, data) VALUES (?, ?, ?, ?, ?)",
                row)

        await self._db.write(work)

    async def async_find_bot(self, *, enterprise_id: str | None, team_id: str | None,
                             is_enterprise_install: bool | None = False) -> Bot | None:
        """The bot of a workspace (or of an org for org-wide installs), or None."""
        enterprise, team = _keys(enterprise_id, team_id, is_enterprise_install)
        row = await self._db.fetch_one(
            "SELECT data FROM slack_bots WHERE client_id = ? AND enterprise_id = ? AND team_id = ? "
            "ORDER BY installed_at DESC LIMIT 1", (self._client_id, enterprise, team))
        return Bot(**json.loads(self._sealer.open(row[0]))) if row else None

    async def async_find_installation(self, *, enterprise_id: str | None, team_id: str | None,
                                      user_id: str | None = None,
                                      is_enterprise_install: bool | None = False) -> Installation | None:
        """The newest installation of a workspace, or that of ``user_id``, with the workspace's current bot."""
        enterprise, team = _keys(enterprise_id, team_id, is_enterprise_install)
        sql = "SELECT data FROM slack_installations WHERE client_id = ? AND enterprise_id = ? AND team_id = ?"
        params: list[Any] = [self._client_id, enterprise, team]
        if user_id is not None:
            sql, params = sql + " AND user_id = ?", [*params, user_id]
        row = await self._db.fetch_one(sql + " ORDER BY installed_at DESC LIMIT 1", params)
        if row is None:
            return None
        data = json.loads(self._sealer.open(row[0]))
        if user_id is not None:  # a later installer may have replaced the bot token: the newest one wins
            bot = await self.async_find_bot(enterprise_id=enterprise_id, team_id=team_id,
                                            is_enterprise_install=is_enterprise_install)
            if bot is not None:
                data |= {k: v for k, v in json.loads(_dump(bot)).items() if k in _BOT_FIELDS}
        return Installation(**data)

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        """Forget a workspace's bot (``tokens_revoked`` / ``app_uninstalled``)."""
        enterprise, team = _keys(enterprise_id, team_id, False)
        await self._db.write(lambda conn: conn.execute(
            "DELETE FROM slack_bots WHERE client_id = ? AND enterprise_id = ? AND team_id = ?",
            (self._client_id, enterprise, team)))

    async def async_delete_installation(self, *, enterprise_id: str | None, team_id: str | None,
                                        user_id: str | None = None) -> None:
        """Forget a workspace's installations (only ``user_id``'s when given)."""
        enterprise, team = _keys(enterprise_id, team_id, False)
        sql = "DELETE FROM slack_installations WHERE client_id = ? AND enterprise_id = ? AND team_id = ?"
        params: list[Any] = [self._client_id, enterprise, team]
        if user_id is not None:
            sql, params = sql + " AND user_id = ?", [*params, user_id]
        await self._db.write(lambda conn: conn.execute(sql, params))

    async def bot_token_for_team(self, team_id: str) -> str | None:
        """The newest bot token installed in workspace ``team_id`` (for answers sent after the request)."""
        row = await self._db.fetch_one(
            "SELECT data FROM slack_bots WHERE client_id = ? AND team_id = ? ORDER BY installed_at DESC LIMIT 1",
            (self._client_id, team_id))
        token = json.loads(self._sealer.open(row[0])).get("bot_token") if row else None
        return str(token) if token else None


class SQLiteOAuthStateStore(AsyncOAuthStateStore):
    """OAuth ``state`` values: issued for ``/slack/install``, consumed once by the redirect, expiring."""

    def __init__(self, db: Database, ttl_s: float, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._ttl_s = ttl_s
        self._clock = clock

    @property
    def logger(self) -> logging.Logger:
        """The logger Bolt expects every store to have."""
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        """A new unguessable state, valid for the TTL; expired ones are swept on the way."""
        state, now = secrets.token_urlsafe(24), self._clock()
        def work(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM slack_oauth_states WHERE expires_at <= ?", (now,))
            conn.execute("INSERT INTO slack_oauth_states (state, expires_at) VALUES (?, ?)", (state, now + self._ttl_s))

        await self._db.write(work)
        return state

    async def async_consume(self, state: str) -> bool:
        """True once for a state issued here and not expired; the state is gone afterwards either way."""
        def work(conn: sqlite3.Connection) -> list[sqlite3.Row]:
            rows = conn.execute("SELECT expires_at FROM slack_oauth_states WHERE state = ?", (state,)).fetchall()
            conn.execute("DELETE FROM slack_oauth_states WHERE state = ?", (state,))
            return rows

        rows = await self._db.write(work)
        return bool(rows) and float(rows[0][0]) > self._clock()


def _keys(enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None) -> tuple[str, str]:
    # an org-wide install has no team: it is found by the org alone, as in slack-sdk's own stores
    return enterprise_id or "", "" if is_enterprise_install else team_id or ""


def _dump(model: Installation | Bot) -> str:
    # the models take ISO strings back for their datetime fields
    return json.dumps(model.to_dict_for_copying(),
                      default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v))


class Sealer:
    """Encrypts stored installations with Fernet (AES-128-CBC + HMAC-SHA256) when a key is given."""

    def __init__(self, key: str) -> None:
        try:
            self._fernet = Fernet(key.encode()) if key else None
        except ValueError as exc:
            raise StorageError("TOURGUIDE_SLACK_TOKEN_KEY is not a Fernet key (32 url-safe base64 bytes, "
                               "e.g. from `python -c 'from cryptography.fernet import Fernet; "
                               "print(Fernet.generate_key().decode())'`)") from exc
        if self._fernet is None:
            log.warning("Slack bot tokens are stored unencrypted (file mode 0600); set TOURGUIDE_SLACK_TOKEN_KEY "
                        "to encrypt them")

    def seal(self, text: str) -> str:
        """``text`` as stored: encrypted and marked when there is a key, else unchanged."""
        return _SEALED + self._fernet.encrypt(text.encode()).decode() if self._fernet else text

    def open(self, stored: str) -> str:
        """The text of a stored value (a row from before the key was set is read as it is)."""
        if not stored.startswith(_SEALED):
            return stored
        if self._fernet is None:
            raise StorageError("Slack installations are encrypted: set TOURGUIDE_SLACK_TOKEN_KEY")
        try:
            return self._fernet.decrypt(stored.removeprefix(_SEALED).encode()).decode()
        except InvalidToken as exc:
            raise StorageError("cannot decrypt the Slack installations: wrong TOURGUIDE_SLACK_TOKEN_KEY") from exc
