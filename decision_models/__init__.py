"""Pure evaluation: data in, decision and trace out. No network I/O; imports nothing from `service`.

`decide()` is the one entry point for experiences; decision models (tables, expressions, plugins and
connection nodes behind the ConnectionPort interface) are compiled into DecisionModel objects at load.
"""

from .bucketing import bucket, choose, cumulative, murmur3_32
from .decision_model import DecisionModel, ModelRun, ModelVariant, RunContext
from .engine import Decision, Outcome, assign, decide
from .experiences import (
    CONDITION_ROOTS,
    TEMPLATE_ROOTS,
    Audience,
    Catalog,
    Experience,
    ExperienceVersion,
    Kind,
    Status,
    Variant,
)
from .expressions import Condition, EvaluationError, ExpressionError, compile_condition, widen_numbers
from .feel import FeelError, compile_unary_test
from .graph import GraphError, NodeGraph, NodeResult, build_graph, check_edge_type
from .nodes import (
    CONTEXT_ROOTS,
    NO_DEFAULT,
    ConnectionNode,
    ExpressionNode,
    InputNode,
    Node,
    NodeError,
    OutputNode,
    PluginNode,
    Source,
    TableNode,
    compile_source,
    log,
)
from .ports import ConnectionOutcome, ConnectionPort
from .request import DecisionRequest, request_context, visitor_key
from .tables import DecisionTable, OutputColumn, TableError, TableResult, compile_table
from .templates import Template, TemplateError, compile_template

__all__ = [
    "CONDITION_ROOTS",
    "CONTEXT_ROOTS",
    "NO_DEFAULT",
    "TEMPLATE_ROOTS",
    "Audience",
    "Catalog",
    "Condition",
    "ConnectionNode",
    "ConnectionOutcome",
    "ConnectionPort",
    "Decision",
    "DecisionModel",
    "DecisionRequest",
    "DecisionTable",
    "EvaluationError",
    "Experience",
    "ExperienceVersion",
    "ExpressionError",
    "ExpressionNode",
    "FeelError",
    "GraphError",
    "InputNode",
    "Kind",
    "ModelRun",
    "ModelVariant",
    "Node",
    "NodeError",
    "NodeGraph",
    "NodeResult",
    "Outcome",
    "OutputColumn",
    "OutputNode",
    "PluginNode",
    "RunContext",
    "Source",
    "Status",
    "TableError",
    "TableNode",
    "TableResult",
    "Template",
    "TemplateError",
    "Variant",
    "assign",
    "bucket",
    "build_graph",
    "check_edge_type",
    "choose",
    "compile_condition",
    "compile_source",
    "compile_table",
    "compile_template",
    "compile_unary_test",
    "cumulative",
    "decide",
    "log",
    "murmur3_32",
    "request_context",
    "visitor_key",
    "widen_numbers",
]
