"""`personalize import-dmn`: a DMN 1.1 export (Sitecore's decision-model canvas) to decisionModels YAML.

Decision tables keep their hit policy, typed inputs, outputs (with allowed values as priority) and rules;
input data become input nodes; information requirements become node references; the decisions nothing
else requires become the output node. JavaScript literal expressions cannot be converted: each becomes a
plugin-node stub whose original script is kept as a YAML comment, with a warning to write the function.
The imported variant is a draft: review it, then promote it.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

import yaml

HIT_POLICIES = {
    "UNIQUE": "U",
    "FIRST": "F",
    "PRIORITY": "P",
    "ANY": "A",
    "COLLECT": "C",
    "RULE ORDER": "R",
    "OUTPUT ORDER": "O",
}
AGGREGATIONS = {"SUM": "C+", "MIN": "C<", "MAX": "C>", "COUNT": "C#"}
TYPES = {
    "string": "string",
    "number": "number",
    "double": "number",
    "integer": "integer",
    "long": "integer",
    "boolean": "boolean",
    "date": "date",
    "map": "object",
    "object": "object",
    "list": "list",
}
_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


class DmnError(ValueError):
    """The file is not a DMN document this importer can read."""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in element if _local(child.tag) == name]


def _child(element: ET.Element, name: str) -> ET.Element | None:
    found = _children(element, name)
    return found[0] if found else None


def _text(element: ET.Element | None) -> str:
    """The `<text>` of an element (or its own text)."""
    if element is None:
        return ""
    text = _child(element, "text")
    return ((text if text is not None else element).text or "").strip()


def ident(name: str) -> str:
    """A node id from a DMN name: letters, digits and underscores, not starting with a digit."""
    cleaned = re.sub(r"[^A-Za-z0-9_]+", "_", name.strip()).strip("_") or "node"
    return f"n_{cleaned}" if cleaned[0].isdigit() else cleaned


def _type(type_ref: str | None) -> str:
    return TYPES.get((type_ref or "").lower(), "any")


@dataclass
class _Import:
    warnings: list[str] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)  # DMN element id -> node id

    def output_cell(self, text: str, where: str) -> Any:
        text = text.strip()
        if text in ("", "-", "null"):
            return None
        try:
            return json.loads(text)  # "quoted", numbers, true / false
        except ValueError:
            pass
        if _DOTTED.match(text):
            return {"var": text}
        self.warnings.append(f"{where}: output {text!r} is not a FEEL literal or name; kept as text, check it")
        return text

    def table(self, decision: ET.Element, table: ET.Element, node_id: str) -> dict[str, Any]:
        where = f"decision '{decision.get('name', node_id)}'"
        policy = (table.get("hitPolicy") or "UNIQUE").upper()
        code = HIT_POLICIES.get(policy)
        if code is None:
            raise DmnError(f"{where}: unknown hit policy {policy!r}")
        if code == "C" and table.get("aggregation"):
            code = AGGREGATIONS.get(table.get("aggregation", "").upper(), "C")
        inputs: list[dict[str, str]] = []
        for column in _children(table, "input"):
            expression = _child(column, "inputExpression")
            source = _text(expression)
            label = column.get("label") or source
            if not _DOTTED.match(source):
                self.warnings.append(f"{where}: input {label!r} reads {source!r}, not a dotted name; fix its source")
            type_ref = expression.get("typeRef") if expression is not None else None
            column_type = _type(type_ref)
            if column_type not in ("string", "number", "boolean", "date", "any"):  # input columns hold scalars
                column_type = "number" if column_type == "integer" else "any"
            inputs.append({"label": label, "source": source, "type": column_type})
        outputs: list[dict[str, Any]] = []
        for column in _children(table, "output"):
            name = ident(column.get("name") or column.get("label") or f"output{len(outputs) + 1}")
            output: dict[str, Any] = {"name": name, "type": _type(column.get("typeRef"))}
            values = _text(_child(column, "outputValues"))
            if values:
                output["priority"] = [self.output_cell(v, where) for v in _split(values)]
            outputs.append(output)
        rules = []
        for number, rule in enumerate(_children(table, "rule"), start=1):
            when = [(_text(e) or "-") for e in _children(rule, "inputEntry")]
            then = [self.output_cell(_text(e), f"{where} rule {number}") for e in _children(rule, "outputEntry")]
            rules.append({"when": when, "then": then})
        return {
            "id": node_id,
            "kind": "table",
            "name": decision.get("name", node_id),
            "hitPolicy": code,
            "inputs": inputs,
            "outputs": outputs,
            "rules": rules,
        }

    def script(
        self,
        decision: ET.Element,
        literal: ET.Element,
        node_id: str,
        deps: list[str],
        model_id: str,
        variable_type: str,
    ) -> tuple[dict[str, Any], str]:
        language = (literal.get("expressionLanguage") or "javascript").lower()
        self.warnings.append(
            f"decision '{decision.get('name', node_id)}': a {language} expression cannot be converted; write the "
            f"Python function plugins.{model_id}:{node_id} (its script is kept as a comment above the node)"
        )
        node: dict[str, Any] = {
            "id": node_id,
            "kind": "plugin",
            "name": decision.get("name", node_id),
            "python": f"plugins.{model_id}:{node_id}",
            "type": variable_type,
            "inputs": {dep: dep for dep in deps},
        }
        return node, _text(literal)


def _split(text: str) -> list[str]:
    from decision_models.feel import split_top_level

    return [part for part in split_top_level(text) if part]


def _requirements(decision: ET.Element) -> list[str]:
    refs = []
    for requirement in _children(decision, "informationRequirement"):
        for kind in ("requiredDecision", "requiredInput"):
            for target in _children(requirement, kind):
                href = target.get("href", "")
                refs.append(href.lstrip("#"))
    return refs


def import_dmn(data: bytes, model_id: str | None = None) -> tuple[str, list[str]]:
    """The YAML text of one decision model, and the warnings a person must act on."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise DmnError(f"not XML: {exc}") from None
    if _local(root.tag) != "definitions":
        raise DmnError(f"the root element is <{_local(root.tag)}>, not a DMN <definitions>")
    state = _Import()
    model = ident(model_id or root.get("name") or root.get("id") or "imported").lower()
    for data_input in _children(root, "inputData"):
        state.ids[data_input.get("id", "")] = ident(data_input.get("name", "input"))
    decisions = _children(root, "decision")
    for decision in decisions:
        variable = _child(decision, "variable")
        name = variable.get("name") if variable is not None and variable.get("name") else decision.get("name", "")
        state.ids[decision.get("id", "")] = ident(name or "decision")
    nodes: list[tuple[dict[str, Any], str | None]] = []
    for data_input in _children(root, "inputData"):
        node_id = state.ids[data_input.get("id", "")]
        source = "guest" if node_id.lower() == "guest" else f"params.{node_id}"
        nodes.append(
            ({"id": node_id, "kind": "input", "name": data_input.get("name", node_id), "source": source}, None)
        )
        if source != "guest":
            state.warnings.append(f"input data '{data_input.get('name')}' reads {source}; point it at your data")
    required: set[str] = set()
    for decision in decisions:
        node_id = state.ids[decision.get("id", "")]
        deps = [state.ids[r] for r in _requirements(decision) if r in state.ids]
        required.update(r for r in _requirements(decision))
        table, literal = _child(decision, "decisionTable"), _child(decision, "literalExpression")
        variable = _child(decision, "variable")
        if table is not None:
            nodes.append((state.table(decision, table, node_id), None))
        elif literal is not None:
            node, script = state.script(
                decision,
                literal,
                node_id,
                deps,
                model,
                _type(variable.get("typeRef") if variable is not None else None),
            )
            nodes.append((node, script))
        else:
            state.warnings.append(f"decision '{decision.get('name')}' has no decision table or literal expression")
    finals = [state.ids[d.get("id", "")] for d in decisions if d.get("id") not in required]
    nodes.append(({"id": "result", "kind": "output", "fields": {f: f for f in finals}}, None))
    return _render(model, root.get("name") or model, nodes), state.warnings


def _render(model: str, name: str, nodes: list[tuple[dict[str, Any], str | None]]) -> str:
    head = yaml.safe_dump(
        {
            "decisionModels": [
                {
                    "id": model,
                    "name": name,
                    "variants": [{"id": "imported", "name": "Imported from DMN", "status": "draft", "nodes": []}],
                }
            ]
        },
        sort_keys=False,
        allow_unicode=True,
        width=120,
    ).replace("nodes: []\n", "nodes:\n")
    body = []
    for node, script in nodes:
        if script is not None:
            body.append("          # Original script (convert it to the Python function named below):\n")
            body.extend(f"          #   {line}\n" for line in script.splitlines())
        dumped = yaml.safe_dump([node], sort_keys=False, allow_unicode=True, width=120)
        body.extend(f"        {line}\n" for line in dumped.splitlines())
    return "# Imported by `personalize import-dmn`; review it, then set the variant's status.\n" + head + "".join(body)
