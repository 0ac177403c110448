"""One strategy per auth scheme, each owning its headers, its token and its answer to a 401 (the shape of
httpx's `Auth` flow, without a generator: one refresh-and-retry is all a scheme may ask for).

The strategies are compiled config, immutable; the token state of OAuth2 lives in a TokenManager that the
connection pool makes once per connection (`tokens()`) and passes back in (`apply`, `refused`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .tokens import TokenManager, basic_header


class AuthScheme(StrEnum):
    NONE = "none"
    BASIC = "basic"
    HEADER = "header"
    OAUTH2_CLIENT_CREDENTIALS = "oauth2_client_credentials"


@dataclass(frozen=True, slots=True)
class NoAuth:
    scheme: AuthScheme = AuthScheme.NONE
    header_names: tuple[str, ...] = ()  # request headers that carry credentials (redacted when shown)

    def tokens(self) -> TokenManager | None:
        return None

    async def apply(self, headers: dict[str, str], tokens: TokenManager | None) -> str | None:
        """Add the credentials to `headers`; the access token used, if any (for a 401)."""
        return None

    def refused(self, tokens: TokenManager | None, token: str | None) -> bool:
        """The upstream answered 401: whether one retry with fresh credentials may succeed."""
        return False


@dataclass(frozen=True, slots=True)
class HeaderAuth:
    """Fixed credentials in headers: HTTP Basic (`scheme` basic) or the config's own (`scheme` header)."""

    scheme: AuthScheme
    headers: Mapping[str, str] = field(repr=False)
    username: str = ""  # basic: shown in views and Postman; the password never is

    @classmethod
    def basic(cls, username: str, password: str) -> HeaderAuth:
        return cls(AuthScheme.BASIC, {k.lower(): v for k, v in basic_header(username, password).items()}, username)

    @property
    def header_names(self) -> tuple[str, ...]:
        return tuple(self.headers)

    def tokens(self) -> TokenManager | None:
        return None

    async def apply(self, headers: dict[str, str], tokens: TokenManager | None) -> str | None:
        headers.update(self.headers)
        return None

    def refused(self, tokens: TokenManager | None, token: str | None) -> bool:
        return False  # the same fixed credentials would be refused again


@dataclass(frozen=True, slots=True)
class OAuth2ClientCredentials:
    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    scope: str | None = None
    audience: str | None = None
    credentials_in: str = "header"  # header (client_secret_basic) | body (client_secret_post)
    form_items: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)  # of the token request
    default_lifetime: float = 300.0
    leeway: float = 30.0
    timeout: float = 5.0
    client_options: Mapping[str, Any] = field(default_factory=dict)  # TLS of the token endpoint
    scheme: AuthScheme = AuthScheme.OAUTH2_CLIENT_CREDENTIALS
    header_names: tuple[str, ...] = ("authorization",)

    def tokens(self) -> TokenManager:
        return TokenManager(self)

    async def apply(self, headers: dict[str, str], tokens: TokenManager | None) -> str | None:
        assert tokens is not None, "the pool makes a TokenManager for every OAuth2 connection"
        token = await tokens.get()
        headers["authorization"] = f"Bearer {token}"
        return token

    def refused(self, tokens: TokenManager | None, token: str | None) -> bool:
        if tokens is None or token is None:
            return False
        tokens.invalidate(token)  # a newer token may already have replaced it: invalidate knows
        return True


Auth = NoAuth | HeaderAuth | OAuth2ClientCredentials
