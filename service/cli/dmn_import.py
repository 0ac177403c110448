"""`personalize import-dmn`: a DMN 1.1 export (Sitecore's decision-model canvas) to decisionModels YAML.

Decision tables keep their hit policy, typed inputs, outputs (with allowed values as priority) and rules;
input data become input nodes; information requirements become node references; the decisions nothing
else requires become the output node. JavaScript literal expressions and script input columns cannot be
converted: each becomes a plugin-node stub whose original script is kept as a YAML comment, with a
warning to write the function. FEEL literal decisions that are a name or a literal become expression
nodes. Sitecore's cell syntax is rewritten to S-FEEL (`a || b` -> `a, b`; `> 1 && < 5` -> `(1..5)`);
`date and time("...")` becomes `date("...")`; names with spaces or `?` become node ids everywhere they
are referenced. Knowledge sources and a decision without logic are reported, never dropped silently.
The imported variant is a draft: review it, then promote it.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

import yaml

from .dmn_xml import (
    COMPARISON,
    DATE_TIME,
    DOTTED,
    DmnError,
    child,
    children,
    decode_xml,
    feel_literal,
    ident,
    local_name,
    requirements,
    split_list,
    split_outside_quotes,
    text_of,
    value_type,
)

__all__ = ["DmnError", "import_dmn"]

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


@dataclass
class _Import:
    warnings: list[str] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)  # DMN element id -> node id
    names: dict[str, str] = field(default_factory=dict)  # DMN name (spaces, `?` and all) -> node id
    stubs: list[tuple[dict[str, Any], str | None]] = field(default_factory=list)  # script columns' plugins
    model: str = "imported"

    def reference(self, text: str) -> str:
        """A name as DMN writes it (`Customer Age`, `Is member?.score`) as the node path it becomes."""
        text = text.strip()
        if text in self.names:
            return self.names[text]
        for name in sorted(self.names, key=len, reverse=True):  # `Customer Data.age`
            if text.startswith(name + "."):
                return self.names[name] + text[len(name) :]
        return text

    def cell(self, text: str, where: str) -> str:
        """An input cell in S-FEEL: Sitecore's `||` and `&&`, `date and time`, names with spaces."""
        text = text.strip()
        if text in ("", "-"):
            return "-"
        if "date and time(" in text:
            text = DATE_TIME.sub(lambda m: f'date("{m.group(1)}")', text)
            self.warnings.append(f"{where}: date and time() read as a date (the time of day is dropped)")
        if "||" in text:
            return ", ".join(self.cell(part, where) for part in split_outside_quotes(text, "||"))
        if "&&" in text:
            return self._conjunction(text, where)
        if text in self.names or any(text.startswith(n + ".") for n in self.names):
            return self.reference(text)
        return text

    def _conjunction(self, text: str, where: str) -> str:
        bounds: dict[str, tuple[str, str]] = {}
        for part in split_outside_quotes(text, "&&"):
            match = COMPARISON.match(part)
            if match is None:
                break
            op, value = match.groups()
            bounds["low" if op.startswith(">") else "high"] = (op, value)
        else:
            if set(bounds) == {"low", "high"}:
                (low_op, low), (high_op, high) = bounds["low"], bounds["high"]
                return f"{'[' if low_op == '>=' else '('}{low}..{high}{']' if high_op == '<=' else ')'}"
        self.warnings.append(f"{where}: the cell {text!r} is not a range; S-FEEL has no general `and`, rewrite it")
        return text

    def output_cell(self, text: str, where: str) -> Any:
        text = text.strip()
        if text in ("", "-", "null"):
            return None
        try:
            return json.loads(text)  # "quoted", numbers, true / false
        except ValueError:
            pass
        if DOTTED.match(text):
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
        for column in children(table, "input"):
            expression = child(column, "inputExpression")
            source = self.reference(text_of(expression))
            label = column.get("label") or source
            language = (expression.get("expressionLanguage") or "") if expression is not None else ""
            if language.lower() in ("javascript", "js") or (source and not DOTTED.match(source)):
                source = self.script_column(decision, node_id, label, text_of(expression), language or "feel")
            elif not source:
                self.warnings.append(f"{where}: input {label!r} has no expression; give it a source")
            type_ref = expression.get("typeRef") if expression is not None else None
            column_type = value_type(type_ref)
            if column_type not in ("string", "number", "boolean", "date", "any"):  # input columns hold scalars
                column_type = "number" if column_type == "integer" else "any"
            inputs.append({"label": label, "source": source, "type": column_type})
        outputs: list[dict[str, Any]] = []
        for column in children(table, "output"):
            name = ident(column.get("name") or column.get("label") or f"output{len(outputs) + 1}")
            output: dict[str, Any] = {"name": name, "type": value_type(column.get("typeRef"))}
            values = text_of(child(column, "outputValues"))
            if values:
                output["priority"] = [self.output_cell(v, where) for v in split_list(values)]
            outputs.append(output)
        rules = []
        for number, rule in enumerate(children(table, "rule"), start=1):
            when = [self.cell(text_of(e), f"{where} rule {number}") for e in children(rule, "inputEntry")]
            then = [self.output_cell(text_of(e), f"{where} rule {number}") for e in children(rule, "outputEntry")]
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

    def script_column(self, decision: ET.Element, table_id: str, label: str, script: str, language: str) -> str:
        """A table input computed by a script: a plugin stub node the column reads."""
        node_id = ident(f"{table_id}_{label}")
        self.warnings.append(
            f"decision '{decision.get('name', table_id)}': input {label!r} is a {language} expression "
            f"{script!r}; write the Python function plugins.{self.model}:{node_id} it now reads"
        )
        stub = {"id": node_id, "kind": "plugin", "name": label, "python": f"plugins.{self.model}:{node_id}"}
        self.stubs.append((stub, script))
        return node_id

    def literal(
        self, decision: ET.Element, literal: ET.Element, node_id: str, deps: list[str], variable_type: str
    ) -> tuple[dict[str, Any], str | None]:
        """A literal expression: FEEL (DMN's default language) that is a name or a literal becomes an
        expression node; anything else, and every script, a plugin stub."""
        language = (literal.get("expressionLanguage") or "feel").lower()
        text = text_of(literal)
        if language in ("feel", "s-feel", "sfeel") or language.startswith("http://www.omg.org/spec/feel"):
            value = feel_literal(text, self.reference(text))
            if value is not None:
                node = {"id": node_id, "kind": "expression", "name": decision.get("name", node_id), "expression": value}
                if variable_type != "any":
                    node["type"] = variable_type
                return node, None
            language = "FEEL"
        return self.script(decision, literal, node_id, deps, self.model, variable_type, language)

    def script(
        self,
        decision: ET.Element,
        literal: ET.Element,
        node_id: str,
        deps: list[str],
        model_id: str,
        variable_type: str,
        language: str,
    ) -> tuple[dict[str, Any], str]:
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
        return node, text_of(literal)


def import_dmn(data: bytes, model_id: str | None = None) -> tuple[str, list[str]]:
    """The YAML text of one decision model, and the warnings a person must act on."""
    # Long on purpose: the importer's walk of one DMN document, in document order.
    try:
        root = ET.fromstring(decode_xml(data))
    except ET.ParseError as exc:
        raise DmnError(f"not XML: {exc}") from None
    if local_name(root.tag) != "definitions":
        raise DmnError(f"the root element is <{local_name(root.tag)}>, not a DMN <definitions>")
    model = ident(model_id or root.get("name") or root.get("id") or "imported").lower()
    state = _Import(model=model)
    for data_input in children(root, "inputData"):
        node_id = ident(data_input.get("name", "input"))
        state.ids[data_input.get("id", "")] = node_id
        state.names[data_input.get("name", "").strip()] = node_id
    decisions = children(root, "decision")
    for decision in decisions:
        variable = child(decision, "variable")
        name = (variable.get("name") if variable is not None else None) or decision.get("name", "")
        node_id = ident(name or "decision")
        state.ids[decision.get("id", "")] = node_id
        for alias in (name, decision.get("name") or ""):
            if alias:
                state.names[alias.strip()] = node_id
    state.names = {k: v for k, v in state.names.items() if k and k != v}  # only names that need rewriting
    for knowledge in children(root, "knowledgeSource"):
        state.warnings.append(
            f"knowledge source '{knowledge.get('name', knowledge.get('id', '?'))}' is documentation in DMN; "
            "not imported"
        )
    nodes: list[tuple[dict[str, Any], str | None]] = []
    for data_input in children(root, "inputData"):
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
        deps = [state.ids[r] for r in requirements(decision) if r in state.ids]
        required.update(r for r in requirements(decision))
        table, literal = child(decision, "decisionTable"), child(decision, "literalExpression")
        variable = child(decision, "variable")
        if table is not None:
            nodes.append((state.table(decision, table, node_id), None))
        elif literal is not None:
            variable_type = value_type(variable.get("typeRef") if variable is not None else None)
            nodes.append(state.literal(decision, literal, node_id, deps, variable_type))
        else:  # keep the node others reference, reading a param until someone gives it logic
            nodes.append(
                (
                    {
                        "id": node_id,
                        "kind": "input",
                        "name": decision.get("name", node_id),
                        "source": f"params.{node_id}",
                    },
                    None,
                )
            )
            state.warnings.append(
                f"decision '{decision.get('name')}' has no decision table or literal expression; "
                f"it reads params.{node_id} until you give it one"
            )
    finals = [state.ids[d.get("id", "")] for d in decisions if d.get("id") not in required]
    nodes[len(children(root, "inputData")) : len(children(root, "inputData"))] = state.stubs
    nodes.append(({"id": "result", "kind": "output", "fields": {f: f for f in finals}}, None))
    return _render(model, root.get("name") or model, nodes), state.warnings


_DUMPER: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when present


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
        dumped = yaml.dump([node], Dumper=_DUMPER, sort_keys=False, allow_unicode=True, width=120)
        body.extend(f"        {line}\n" for line in dumped.splitlines())
    return "# Imported by `personalize import-dmn`; review it, then set the variant's status.\n" + head + "".join(body)
