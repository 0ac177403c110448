"""Every outbound request the service makes: auth, templating, mapping, caching, delivery.

`Connections` is the one entry point (it implements decision_models' ConnectionPort); `Connection` is a
compiled definition, built from config by service/config. Nothing here knows about experiences.
"""

from .auth import TokenError, TokenManager, basic_header
from .breaker import Breaker
from .calls import Attempt
from .coalescing import Coalescer
from .mapping import MappingError, OutputMapping
from .registry import REDACTED, CallResult, Connections, redact, secret_forms
from .requests import BuiltRequest, Connection, Retries, Timeouts, build
from .templating import JsonTemplate, TemplateInputError, TextTemplate

__all__ = [
    "REDACTED",
    "Attempt",
    "Breaker",
    "BuiltRequest",
    "CallResult",
    "Coalescer",
    "Connection",
    "Connections",
    "JsonTemplate",
    "MappingError",
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
