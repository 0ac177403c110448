"""Every outbound request the service makes: auth, templating, mapping, caching, delivery.

`Connections` is the one entry point (it implements decision_models' ConnectionPort); `Connection` is a
compiled definition, built from config by service/config. Nothing here knows about experiences.
"""

from .auth import Auth, AuthScheme, HeaderAuth, NoAuth, OAuth2ClientCredentials
from .breaker import Breaker
from .calls import Attempt
from .coalescing import Coalescer
from .connection import BuiltRequest, Connection, DeliveryPolicy, Retries, Timeouts, build
from .faults import FaultKind
from .mapping import MappingError, OutputMapping
from .pool import REDACTED, Connections, ConnectionState, redact, secret_forms
from .templating import JsonTemplate, TemplateInputError, TextTemplate
from .tokens import TokenError, TokenManager, basic_header

__all__ = [
    "REDACTED",
    "Attempt",
    "Auth",
    "AuthScheme",
    "Breaker",
    "BuiltRequest",
    "Coalescer",
    "Connection",
    "ConnectionState",
    "Connections",
    "DeliveryPolicy",
    "FaultKind",
    "HeaderAuth",
    "JsonTemplate",
    "MappingError",
    "NoAuth",
    "OAuth2ClientCredentials",
    "OutputMapping",
    "Retries",
    "TemplateInputError",
    "TextTemplate",
    "Timeouts",
    "TokenError",
    "TokenManager",
    "basic_header",
    "build",
    "redact",
    "secret_forms",
]
