"""The SQLite Slack installation and OAuth state stores, through slack-sdk's own models."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from slack_sdk.oauth.installation_store.models.installation import Installation

from adapters.slack.installations import SlackOAuthStorage
from bot.errors import StorageError


def _installation(team: str, token: str, user: str = "U1", installed_at: float = 1000.0) -> Installation:
    return Installation(app_id="A1", team_id=team, team_name=f"Team {team}", bot_token=token, bot_id="B1",
                        bot_user_id="UBOT", bot_scopes="chat:write,commands", user_id=user,
                        bot_token_expires_in=3600, installed_at=installed_at)


async def test_installations_round_trip_and_the_newest_bot_token_wins(tmp_path: Path) -> None:
    async with SlackOAuthStorage(tmp_path / "s.sqlite3", "client-1") as storage:
        store = storage.installations
        await store.async_save(_installation("T1", "xoxb-old", user="U1", installed_at=1000.0))
        await store.async_save(_installation("T1", "xoxb-new", user="U2", installed_at=2000.0))
        await store.async_save(_installation("T2", "xoxb-t2"))
        bot = await store.async_find_bot(enterprise_id=None, team_id="T1")
        first_user = await store.async_find_installation(enterprise_id=None, team_id="T1", user_id="U1")
        latest = await store.async_find_installation(enterprise_id=None, team_id="T1")
        token_t2 = await store.bot_token_for_team("T2")
        await store.async_delete_all(enterprise_id=None, team_id="T1")
        gone = (await store.async_find_bot(enterprise_id=None, team_id="T1"),
                await store.async_find_installation(enterprise_id=None, team_id="T1"),
                await store.bot_token_for_team("T1"))

    assert bot is not None and bot.bot_token == "xoxb-new" and bot.bot_scopes == ["chat:write", "commands"]
    assert first_user is not None and (first_user.user_id, first_user.bot_token) == ("U1", "xoxb-new")
    assert latest is not None and latest.user_id == "U2" and latest.bot_token_expires_at is not None
    assert token_t2 == "xoxb-t2"
    assert gone == (None, None, None)


async def test_a_state_is_good_once_and_only_until_it_expires(tmp_path: Path) -> None:
    now = [100.0]
    async with SlackOAuthStorage(tmp_path / "s.sqlite3", "client-1", state_ttl_s=60,
                                 clock=lambda: now[0]) as storage:
        states = storage.states
        fresh, stale = await states.async_issue(), await states.async_issue()
        used_once = [await states.async_consume(fresh), await states.async_consume(fresh)]
        now[0] += 61
        late = await states.async_consume(stale)
        unknown = await states.async_consume("never-issued")

    assert used_once == [True, False]
    assert (late, unknown) == (False, False)


async def test_installations_survive_reopening(tmp_path: Path) -> None:
    async with SlackOAuthStorage(tmp_path / "s.sqlite3", "client-1") as storage:
        await storage.installations.async_save(_installation("T1", "xoxb-1"))
    async with SlackOAuthStorage(tmp_path / "s.sqlite3", "client-1") as storage:
        assert await storage.installations.bot_token_for_team("T1") == "xoxb-1"
    async with SlackOAuthStorage(tmp_path / "s.sqlite3", "another-app") as storage:
        assert await storage.installations.bot_token_for_team("T1") is None  # keyed by client ID too


async def test_with_a_key_bot_tokens_are_encrypted_at_rest(tmp_path: Path) -> None:
    key = Fernet.generate_key().decode()
    path = tmp_path / "s.sqlite3"
    installation = Installation(app_id="A1", team_id="T1", user_id="U1", bot_token="xoxb-secret-token",
                                bot_id="B1", bot_user_id="UB1")
    async with SlackOAuthStorage(path, "client-1", key=key) as storage:
        await storage.installations.async_save(installation)
        assert await storage.installations.bot_token_for_team("T1") == "xoxb-secret-token"
    with sqlite3.connect(path) as conn:
        stored = " ".join(r[0] for r in conn.execute("SELECT data FROM slack_bots UNION ALL "
                                                    "SELECT data FROM slack_installations"))
    assert "xoxb-secret-token" not in stored and stored.startswith("fernet:")
    async with SlackOAuthStorage(path, "client-1", key=Fernet.generate_key().decode()) as storage:
        with pytest.raises(StorageError, match="wrong TOURGUIDE_SLACK_TOKEN_KEY"):
            await storage.installations.bot_token_for_team("T1")
