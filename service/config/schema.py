"""The config format, as pydantic v2 models: the single source of validation and of `personalize schema`.

Keys are camelCase like the Sitecore wire format; unknown keys are errors.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from .schema_base import ID, NODE_ID, require_unique
from .schema_base import Model as _Model
from .schema_experiences import Experience as Experience
from .schema_experiences import Targeting as Targeting
from .schema_experiences import Variant as Variant
from .schema_experiences import Version as Version
from .schema_triggers import Cap, Delivery, Signing, Trigger

PLUGIN_REFERENCE = r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$"


class ProfileSettings(_Model):
    max_events: int = Field(1000, ge=1, le=1_000_000, description="Events kept per guest; the oldest are pruned.")
    retention_days: int = Field(
        365, ge=1, le=36_500, description="Events older than this, and guests not seen since, are deleted."
    )


class StorageSettings(_Model):
    url: SecretStr | None = Field(
        None,
        description="postgresql://… for profiles (reference it as ${env:NAME}); unset: SQLite in the data dir.",
    )
    postgres_schema: str = Field(
        "personalize", alias="schema", pattern=r"^[a-z_][a-z0-9_]{0,62}$", description="The PostgreSQL schema."
    )

    @field_validator("url")
    @classmethod
    def _postgres_url(cls, url: SecretStr | None) -> SecretStr | None:
        if url is not None and not url.get_secret_value().startswith(("postgresql://", "postgres://")):
            raise ValueError("must start with postgresql:// (SQLite needs no url: it lives in the data dir)")
        return url


class TriggerSettings(_Model):
    cap: Cap | None = Field(None, description="At most this many executions of all triggers per guest.")
    worker: bool = Field(True, description="Deliver from `personalize serve` (false: run `personalize worker`).")
    session_timeout_s: float = Field(
        1800, ge=60, le=86_400, description="A touch ends after this long without an event (sessionClosed)."
    )


class Settings(_Model):
    default_deadline_ms: int = Field(250, ge=1, le=60_000, description="Request deadline unless overridden.")
    max_body_bytes: int = Field(65_536, ge=1024, le=16 * 1024 * 1024, description="Larger bodies get 413.")
    body_timeout_ms: int = Field(
        10_000, ge=100, le=300_000, description="A body that has not fully arrived by then gets 408."
    )
    profiles: ProfileSettings = Field(default_factory=ProfileSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    triggers: TriggerSettings = Field(default_factory=TriggerSettings)
    sandbox: bool = Field(False, description="Mount the demo's offline sandbox API under /sandbox.")
    sandbox_client_secret: SecretStr = Field(SecretStr("sandbox-secret"), description="The sandbox's client secret.")


class Management(_Model):
    tokens: list[SecretStr] = Field(
        default_factory=list,
        description="Bearer tokens for preview, explain and management calls; reference them as ${env:NAME}.",
    )
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Browser origins that may call the management-token endpoints cross-origin (none by default; "
        "projects' allowedOrigins never apply to them).",
    )


class Project(_Model):
    id: str = Field(pattern=ID)
    name: str = ""
    client_key: str = Field("", description="Sitecore clientKey sent in callFlows bodies (public).")
    context_ids: list[str] = Field(default_factory=list, description="Edge context ids (sitecoreContextId).")
    contentstack_project_uid: str = ""
    segment_write_keys: list[SecretStr] = Field(default_factory=list)
    allowed_origins: list[str] = Field(
        default_factory=list, description="CORS origins allowed to call this project; '*' allows any."
    )


class Audience(_Model):
    id: str = Field(pattern=ID)
    project: str | None = None
    name: str = ""
    description: str = ""
    rule: Any = Field(description="A JSON Logic rule over request, params, headers and guest.")
    segment: bool = Field(
        False, description="Kept current for every guest on every stored event; entries and exits are recorded."
    )


ValueType = Literal["string", "number", "integer", "boolean", "date", "object", "list", "any"]
Source = str | dict[str, Any]  # a dotted path (`offer.code`, `params.tier`) or a JSON Logic mapping


class _Node(_Model):
    id: str = Field(pattern=NODE_ID, description="Unique in the model; templates read output nodes by it.")
    name: str = ""
    type: ValueType = Field("any", description="The type of the value the node gives.")
    default: Any = Field(None, description="Given when the node fails or would overrun (set it to use it).")


class InputNode(_Node):
    kind: Literal["input"]
    source: str = Field(description="A path under request, params, headers, guest, experience or variant.")


class ExpressionNode(_Node):
    kind: Literal["expression"]
    expression: Any = Field(description="JSON Logic over the context roots and upstream node ids.")


class TableInput(_Model):
    label: str = ""
    source: Source
    type: Literal["string", "number", "boolean", "date", "any"] = "any"


class TableOutput(_Model):
    name: str = Field(pattern=NODE_ID)
    type: ValueType = "any"
    priority: list[Any] = Field(default_factory=list, description="Allowed values, best first (P and O).")


class TableRule(_Model):
    when: list[Any] = Field(description="One S-FEEL unary test per input column ('-' matches anything).")
    then: list[Any] | dict[str, Any] = Field(description="One value per output column (or by output name).")
    description: str = ""


class TableNode(_Node):
    kind: Literal["table"]
    hit_policy: Literal["U", "A", "P", "F", "R", "O", "C", "C+", "C<", "C>", "C#"] = "U"
    inputs: list[TableInput] = Field(min_length=1)
    outputs: list[TableOutput] = Field(min_length=1)
    rules: list[TableRule] = Field(default_factory=list)


class ConnectionNode(_Node):
    kind: Literal["connection"]
    connection: str
    inputs: dict[str, Source] = Field(default_factory=dict)


class PluginNode(_Node):
    kind: Literal["plugin"]
    python: str = Field(pattern=PLUGIN_REFERENCE, description="package.module:function, sync or async")
    inputs: dict[str, Source] | None = Field(None, description="Omitted: the function gets the whole context.")


class OutputNode(_Node):
    kind: Literal["output"]
    fields: dict[str, Source] | None = None
    value: Source | None = None

    @model_validator(mode="after")
    def _one_of(self) -> OutputNode:
        if (self.fields is None) == (self.value is None):
            raise ValueError("an output node has either `fields` or `value`")
        return self


Node = Annotated[
    InputNode | ExpressionNode | TableNode | ConnectionNode | PluginNode | OutputNode, Field(discriminator="kind")
]


class ModelVariant(_Model):
    id: str = Field(pattern=ID)
    name: str = ""
    status: Literal["draft", "test", "production"] = "draft"
    weight: int = Field(0, ge=0, le=10_000, description="Production share in basis points.")
    revision: int = Field(1, ge=1)
    fallback: dict[str, Any] | None = Field(None, description="Outputs used when the graph fails.")
    nodes: list[Node] = Field(min_length=1)


class DecisionModel(_Model):
    id: str = Field(pattern=ID)
    project: str | None = None
    name: str = ""
    plugin: str | None = Field(None, pattern=PLUGIN_REFERENCE, description="Shorthand: one plugin node.")
    test_share: int = Field(0, ge=0, le=10_000, description="Basis points of traffic that runs test variants.")
    variants: list[ModelVariant] = Field(default_factory=list)

    @model_validator(mode="after")
    def _variants(self) -> DecisionModel:
        if (self.plugin is None) == (not self.variants):
            raise ValueError("a decision model has either `plugin` (shorthand) or `variants`")
        production = [v for v in self.variants if v.status == "production"]
        total = sum(v.weight for v in production)
        if production and total != 10_000:
            raise ValueError(f"production variant weights must add up to 10000 basis points, not {total}")
        require_unique((v.id for v in self.variants), "variant ids")
        return self


class Tls(_Model):
    cert: str | None = Field(None, description="Client certificate file (mutual TLS).")
    key: str | None = Field(None, description="Its private key file.")
    ca_bundle: str | None = Field(None, description="CA bundle to verify the server with.")


class NoAuth(_Model):
    type: Literal["none"]


class BasicAuth(_Model):
    type: Literal["basic"]
    username: str
    password: SecretStr


class HeaderAuth(_Model):
    type: Literal["header"]
    headers: dict[str, SecretStr] = Field(description="API keys or any custom headers, by env reference.")


class OAuth2ClientCredentials(_Model):
    type: Literal["oauth2_client_credentials"]
    token_url: str = Field(pattern=r"^https?://")
    client_id: str
    client_secret: SecretStr
    scope: str | None = None
    audience: str | None = None
    credentials_in: Literal["header", "body"] = Field("header", description="Where the client credentials go.")
    form_items: dict[str, str] = Field(default_factory=dict, description="Extra form fields of the token request.")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra headers of the token request.")
    default_lifetime_s: float = Field(300, gt=0, description="Token lifetime when expires_in is absent.")
    leeway_s: float = Field(30, ge=0, description="Refresh this long before expiry (at most a quarter of it).")
    timeout_ms: int = Field(5000, ge=1)
    tls: Tls | None = None


Auth = Annotated[NoAuth | BasicAuth | HeaderAuth | OAuth2ClientCredentials, Field(discriminator="type")]


class Timeouts(_Model):
    connect_ms: int = Field(1000, ge=1)
    read_ms: int = Field(1000, ge=1)
    total_ms: int = Field(2000, ge=1)


class Retries(_Model):
    attempts: int = Field(0, ge=0, le=5, description="Extra attempts for idempotent or declared-safe calls.")
    backoff_ms: int = Field(50, ge=0)
    max_backoff_ms: int = Field(500, ge=0)
    safe: bool = Field(False, description="Retry although the method is not idempotent.")


class BreakerSpec(_Model):
    failures: int = Field(5, ge=0, description="Consecutive failures that open it (0: never).")
    reset_s: float = Field(10, gt=0, description="Open this long before one probe is let through.")


class OutputField(_Model):
    path: str = Field(description="JSONPath into the response body, e.g. $.items[0].sku")
    type: ValueType = "any"
    default: Any = None


class Connection(_Model):
    id: str = Field(pattern=NODE_ID, description="Letters, digits, underscores (referenced by models).")
    project: str | None = None
    name: str = ""
    kind: Literal["data", "destination"] = "data"
    base_url: str = Field(pattern=r"^https?://[^/?#]+(/[^?#]*)?$")
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    path: str = Field("", description="Appended to baseUrl; ${input} placeholders are path-encoded.")
    query: dict[str, str] = Field(default_factory=dict, description="Parameter name -> value template.")
    headers: dict[str, str] = Field(default_factory=dict, description="Added to / overriding the defaults.")
    body: Any = Field(None, description="JSON template (or a mapping of form fields when bodyFormat is form).")
    body_format: Literal["json", "form"] = "json"
    auth: Auth = Field(default_factory=lambda: NoAuth(type="none"))
    tls: Tls | None = None
    timeouts: Timeouts = Field(default_factory=Timeouts)
    retries: Retries = Field(default_factory=Retries)
    cache_ttl_s: float = Field(0, ge=0, description="Cache successful responses this long (0: off).")
    max_response_bytes: int = Field(1_048_576, ge=1)
    breaker: BreakerSpec = Field(default_factory=BreakerSpec)
    outputs: dict[str, OutputField] = Field(default_factory=dict)
    signing: Signing | None = Field(None, description="Destinations: sign each push (Standard Webhooks v1).")
    delivery: Delivery = Field(default_factory=Delivery, description="Destinations: retries, concurrency, SSRF.")


class ConfigFile(_Model):
    """One config file; a directory of them is merged (lists concatenated, ids unique)."""

    settings: Settings = Field(default_factory=Settings)
    management: Management = Field(default_factory=Management)
    projects: list[Project] = Field(default_factory=list)
    audiences: list[Audience] = Field(default_factory=list)
    connections: list[Connection] = Field(default_factory=list)
    decision_models: list[DecisionModel] = Field(default_factory=list)
    experiences: list[Experience] = Field(default_factory=list)
    triggers: list[Trigger] = Field(default_factory=list)
