"""Pure evaluation: data in, decision and trace out. No network I/O; imports nothing from `service`."""

from .bucketing import bucket, choose, cumulative, murmur3_32
from .engine import Decision, DecisionRequest, Outcome, decide, visitor_key
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
from .expressions import Condition, ExpressionError, compile_condition
from .models import DecisionModel, PluginModel
from .templates import Template, TemplateError, compile_template

__all__ = [
    "CONDITION_ROOTS",
    "TEMPLATE_ROOTS",
    "Audience",
    "Catalog",
    "Condition",
    "Decision",
    "DecisionModel",
    "DecisionRequest",
    "Experience",
    "ExperienceVersion",
    "ExpressionError",
    "Kind",
    "Outcome",
    "PluginModel",
    "Status",
    "Template",
    "TemplateError",
    "Variant",
    "bucket",
    "choose",
    "compile_condition",
    "compile_template",
    "cumulative",
    "decide",
    "murmur3_32",
    "visitor_key",
]
