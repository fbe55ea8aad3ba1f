"""Which Web API client speaks for which Slack workspace, and Bolt's OAuth settings for installing into many.

With one ``SLACK_BOT_TOKEN`` every workspace gets the same client (:class:`SingleWorkspace`). With OAuth
each workspace has its own bot token in the installation store (:class:`InstalledWorkspaces`): Bolt's
``authorize`` finds it for inbound requests, and we look it up again for answers sent minutes later,
outside any request. Every client uses the configured API base URL, so a proxy or a stand-in works.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol
from urllib.parse import urljoin

from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import ExternalServiceError

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"


def web_client(token: str | None, base_url: str) -> AsyncWebClient:
    """A Web API client that retries connection errors and short 429s itself (``token=None``: OAuth mode)."""
    return AsyncWebClient(token=token, base_url=base_url, retry_handlers=[
        AsyncConnectionErrorRetryHandler(), AsyncRateLimitErrorRetryHandler(max_retry_count=2)])


class WorkspaceClients(Protocol):
    """Gives the Web API client that holds the bot token of a workspace."""

    async def for_team(self, team_id: str) -> AsyncWebClient:
        """The client for workspace ``team_id``; raises ExternalServiceError when it is not installed."""
        ...


class SingleWorkspace:
    """One bot token (``SLACK_BOT_TOKEN``) for every request."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def for_team(self, team_id: str) -> AsyncWebClient:
        """Always the one client."""
        return self._client


class InstalledWorkspaces:
    """Each workspace's newest bot token from the installation store; one client per token."""

    def __init__(self, base_url: str, token_for: Callable[[str], Awaitable[str | None]]) -> None:
        self._base_url = base_url
        self._token_for = token_for
        self._clients: dict[str, AsyncWebClient] = {}

    async def for_team(self, team_id: str) -> AsyncWebClient:
        """The client of workspace ``team_id``; raises ExternalServiceError when it is not installed."""
        token = await self._token_for(team_id)
        if not token:  # uninstalled since the request came in: nobody to answer as
            raise ExternalServiceError(f"slack: workspace {team_id or '?'} has no installation")
        if token not in self._clients:
            self._clients[token] = web_client(token, self._base_url)
        return self._clients[token]


def authorization_url(api_url: str) -> str:
    """Slack's "Add to Slack" page next to the Web API: ``https://slack.com/api/`` gives ``.../oauth/v2/authorize``."""
    return urljoin(api_url if api_url.endswith("/") else api_url + "/", "../oauth/v2/authorize")


def oauth_settings(*, client_id: str, client_secret: str, scopes: Sequence[str], redirect_uri: str, api_url: str,
                   installations: AsyncInstallationStore, states: AsyncOAuthStateStore,
                   state_ttl_s: int) -> AsyncOAuthSettings:
    """Bolt's OAuth flow on our stores; ``GET /slack/install`` redirects straight to Slack (no landing page)."""
    return AsyncOAuthSettings(
        client_id=client_id, client_secret=client_secret, scopes=list(scopes),
        user_scopes=[],  # explicit: Bolt would otherwise read SLACK_USER_SCOPES from the environment
        redirect_uri=redirect_uri or None, install_path=INSTALL_PATH, redirect_uri_path=REDIRECT_PATH,
        install_page_rendering_enabled=False, authorization_url=authorization_url(api_url),
        installation_store=installations, state_store=states, state_expiration_seconds=state_ttl_s)
