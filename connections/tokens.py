"""OAuth2 client_credentials tokens: the runtime state of a connection's token (one TokenManager per
connection, owned by the pool; the compiled Connection stays immutable).

authlib performs the token request (form encoding, client auth in the header or the body, error
parsing). What it does not do (authlib issues #531, #650, #780), TokenManager does: cache the token until
`expires_in` minus a leeway, refresh ahead of expiry, let concurrent refreshes share one token request,
use a configured lifetime when `expires_in` is absent, and drop the token on a 401 so exactly one
refresh-and-retry follows.
"""

from __future__ import annotations

import asyncio
import base64
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import authlib.deprecate  # installs its own "always" filter, which the block below must come after
import httpx

with warnings.catch_warnings():
    # authlib 1.6+ warns at import that its httpx integration prefers httpx2; we pass our own httpx
    # transport, and the warning printed on every CLI command.
    warnings.simplefilter("ignore", authlib.deprecate.AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError


if TYPE_CHECKING:  # auth.py builds a TokenManager from its strategy: imported for the annotation only
    from .auth import OAuth2ClientCredentials


class TokenError(Exception):
    """The token endpoint refused or failed; `error` is the provider's error field when it sent one."""

    def __init__(self, error: str, description: str = "") -> None:
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error


def basic_header(username: str, password: str) -> dict[str, str]:
    raw = f"{username}:{password}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


@dataclass
class TokenManager:
    grant: OAuth2ClientCredentials  # the compiled config: token URL, client, lifetimes, TLS
    clock: Callable[[], float] = time.monotonic
    token: str | None = field(default=None, repr=False)
    stale_at: float = 0.0  # after this the token is not used any more
    refresh_at: float = 0.0  # after this a background refresh starts, the current token still served
    fetches: int = 0
    on_fetch: Callable[[], None] | None = field(default=None, repr=False)  # metrics hook
    _refresh: asyncio.Task[str] | None = field(default=None, repr=False)
    # One authlib client per event loop, reused: building one costs an SSL context (~tens of ms).
    _client: AsyncOAuth2Client | None = field(default=None, repr=False)
    _client_loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)

    def client(self) -> AsyncOAuth2Client:
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            method = "client_secret_post" if self.grant.credentials_in == "body" else "client_secret_basic"
            self._client = AsyncOAuth2Client(
                client_id=self.grant.client_id,
                client_secret=self.grant.client_secret,
                scope=self.grant.scope,
                token_endpoint_auth_method=method,
                timeout=self.grant.timeout,
                **self.grant.client_options,
            )
            self._client_loop = loop
        return self._client

    async def aclose(self) -> None:
        if self._client is not None and self._client_loop is asyncio.get_running_loop():
            await self._client.aclose()
        self._client = None

    async def get(self) -> str:
        """A valid access token, fetching one (once, for all concurrent callers) when needed."""
        now = self.clock()
        if self.token is not None and now < self.stale_at:
            if self._refresh is None and now >= self.refresh_at:
                self._start_refresh()  # refresh ahead: callers keep the current token meanwhile
            return self.token
        if self._refresh is None:
            self._start_refresh()
        assert self._refresh is not None
        return await asyncio.shield(self._refresh)

    async def settled(self) -> None:
        """Wait for a token fetch in flight, if any, to end (a background refresh; tests and shutdown)."""
        if self._refresh is not None:
            await asyncio.gather(asyncio.shield(self._refresh), return_exceptions=True)

    def invalidate(self, token: str) -> None:
        """The upstream said 401 to `token`: forget it, unless a newer one already replaced it."""
        if self.token == token:
            self.token, self.stale_at, self.refresh_at = None, 0.0, 0.0

    def _start_refresh(self) -> None:
        self._refresh = asyncio.ensure_future(self._fetch())
        self._refresh.add_done_callback(self._refresh_done)

    def _refresh_done(self, task: asyncio.Task[str]) -> None:
        self._refresh = None
        if not task.cancelled():
            task.exception()  # retrieved, so a failed background refresh is not logged as unhandled

    async def _fetch(self) -> str:
        extra: dict[str, Any] = dict(self.grant.form_items)
        if self.grant.audience:
            extra["audience"] = self.grant.audience
        self.fetches += 1
        if self.on_fetch is not None:
            self.on_fetch()
        try:
            token = await self.client().fetch_token(
                self.grant.token_url, grant_type="client_credentials", headers=dict(self.grant.headers) or None, **extra
            )
        except OAuthError as exc:
            raise TokenError(str(exc.error or "token_error"), str(exc.description or "")) from None
        except httpx.TimeoutException:
            raise TokenError(
                "timeout", f"no answer from the token endpoint within {self.grant.timeout:.1f} s"
            ) from None
        except httpx.HTTPError as exc:
            raise TokenError("unreachable", f"{type(exc).__name__}: {exc}") from None
        except ValueError as exc:  # a body that is not JSON
            raise TokenError("invalid_response", str(exc)[:200]) from None
        except Exception as exc:  # authlib may run on httpx2 when installed: its errors are not httpx's
            raise TokenError("unreachable", f"{type(exc).__name__}: {exc}"[:300]) from None
        access = token.get("access_token")
        if not isinstance(access, str) or not access:
            raise TokenError("invalid_response", "no access_token in the token response")
        expires_in = token.get("expires_in")
        lifetime = (
            float(expires_in) if isinstance(expires_in, int | float) and expires_in > 0 else self.grant.default_lifetime
        )
        # A leeway never larger than a quarter of the lifetime: authlib's fixed 60 s leeway refetches on
        # every call when a provider issues tokens of 60 s or less.
        leeway = min(self.grant.leeway, lifetime / 4)
        now = self.clock()
        self.token, self.stale_at, self.refresh_at = access, now + lifetime - leeway, now + lifetime - 2 * leeway
        return access
