"""Every way a connection call can end, named once: metrics, the breaker, retries, traces and the README
use these kinds (`personalize_connection_calls_total{kind}`, `errorKind` in explain)."""

from __future__ import annotations

from enum import StrEnum


class FaultKind(StrEnum):
    OK = "ok"
    BAD_INPUT = "bad_input"  # the request could not be built from the inputs (missing, unsafe value)
    CIRCUIT_OPEN = "circuit_open"  # the breaker is open: no call was made
    TOKEN_ERROR = "token_error"  # the OAuth2 token endpoint refused or failed
    TIMEOUT = "timeout"  # no complete answer in time (connect, read, total or the caller's deadline)
    REFUSED = "refused"  # no connection (refused, reset, TLS handshake failed)
    HTTP_4XX = "http_4xx"
    HTTP_429 = "http_429"
    HTTP_5XX = "http_5xx"
    HTTP_OTHER = "http_other"  # a 1xx or 3xx answer (redirects are not followed)
    NOT_JSON = "not_json"
    OVERSIZE = "oversize"  # larger than maxResponseBytes


# Worth another attempt (for idempotent or declared-safe calls).
TRANSIENT = frozenset({FaultKind.TIMEOUT, FaultKind.REFUSED, FaultKind.HTTP_5XX, FaultKind.HTTP_429})
# The upstream's fault: counts toward opening the breaker (a bad input or an open breaker does not).
UPSTREAM_FAILURES = TRANSIENT | {FaultKind.NOT_JSON, FaultKind.OVERSIZE}
