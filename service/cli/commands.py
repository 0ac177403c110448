"""The `personalize` commands that work on a config without serving it: validate, call, test-model,
import-dmn, test-connection, postman, schema."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..config import ConfigError, ConfigFile, load_runtime
from ..runtime import Runtime


def _parse_value(text: str) -> Any:
    """`--param` values: JSON when they parse as JSON (numbers, true, objects), else the plain string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_params(pairs: Sequence[str]) -> dict[str, Any]:
    """['loyalty.tier=gold', 'cart=120'] -> {'loyalty': {'tier': 'gold'}, 'cart': 120}."""
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--param {pair!r}: expected key=value")
        target = params
        *parents, leaf = key.split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
            if not isinstance(target, dict):
                raise SystemExit(f"--param {pair!r}: '{parent}' is already a value")
        target[leaf] = _parse_value(value)
    return params


class ConfigFailed(Exception):
    """The config did not load; its errors are printed already."""


def load_or_report(path: str | None) -> Runtime:
    try:
        return load_runtime(path)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        raise ConfigFailed from None


def cmd_validate(args: argparse.Namespace) -> int:
    try:
        runtime = load_runtime(args.path)
    except ConfigError as exc:
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        print(f"{len(exc.issues)} error(s)", file=sys.stderr)
        return 1
    experiences = sum(len(p.catalog.experiences) for p in runtime.projects.values())
    print(f"ok: {len(runtime.projects)} project(s), {experiences} experience(s)")
    return 0


def cmd_call(args: argparse.Namespace) -> int:
    from decision_models import decide

    from ..sitecore.body import CallFlowBody, to_decision_request

    runtime = load_or_report(args.config)
    if args.project:
        project = runtime.projects.get(args.project)
        if project is None:
            print(f"unknown project {args.project!r}; known: {', '.join(sorted(runtime.projects))}", file=sys.stderr)
            return 2
    elif len(runtime.projects) == 1:
        project = next(iter(runtime.projects.values()))
    else:
        print(f"several projects: pick one with --project ({', '.join(sorted(runtime.projects))})", file=sys.stderr)
        return 2
    body = CallFlowBody(
        friendlyId=args.friendly_id,
        channel=args.channel,
        language=args.language,
        currencyCode=args.currency,
        pointOfSale=args.point_of_sale,
        browserId=args.browser_id,
        email=args.email,
        params=parse_params(args.param),
    )
    request = to_decision_request(body, project.catalog, friendly_id=args.friendly_id, preview=args.preview)

    async def run() -> Any:
        try:
            return await decide(
                project.catalog,
                request,
                default_deadline_ms=runtime.default_deadline_ms,
                connections=runtime.connections,
                explain=True,
            )
        finally:
            if runtime.connections is not None:
                await runtime.connections.aclose()

    decision = asyncio.run(run())
    print(json.dumps(json.loads(decision.body), indent=2))
    print(json.dumps({"project": project.id, **decision.trace()}, indent=2), file=sys.stderr)
    return 0


def _project_for(runtime: Any, name: str | None) -> Any:
    if name:
        if name not in runtime.projects:
            raise SystemExit(f"unknown project {name!r}; known: {', '.join(sorted(runtime.projects))}")
        return runtime.projects[name]
    if len(runtime.projects) == 1:
        return next(iter(runtime.projects.values()))
    raise SystemExit(f"several projects: pick one with --project ({', '.join(sorted(runtime.projects))})")


def cmd_test_model(args: argparse.Namespace) -> int:
    from ..http.errors import ApiError
    from ..sitecore.model_testing import TestContext, TestModelBody, find_model, result_body, run_test

    runtime = load_or_report(args.config)
    values = parse_params(args.input)
    params = {k: v for k, v in values.items() if k not in ("request", "guest")}
    request = values.get("request", {})
    guest = json.loads(Path(args.guest).read_text(encoding="utf-8")) if args.guest else values.get("guest", {})
    context = TestContext(
        params=params, guest=guest, **{k: v for k, v in request.items() if k in TestContext.model_fields}
    )
    body = TestModelBody(context=context, decisionModelRef=args.model, decisionModelVariantRef=args.variant)
    try:
        _, model = find_model(runtime, body, _project_for(runtime, args.project) if args.project else None)
        run = asyncio.run(run_test(model, body, runtime.default_deadline_ms / 1000, runtime.connections))
    except ApiError as exc:
        print(exc.developer_message, file=sys.stderr)
        return 2
    result = result_body(run)
    if args.json:
        print(json.dumps(result, indent=2, default=str))
        return 0 if not result["error"] else 1
    print(
        f"model {run.model_id} / variant {run.variant.id} ({run.variant.status}, revision {run.variant.revision})"
        f"  bucket {result['debug']['bucket'] or '-'}  {run.ms:.3f} ms"
    )
    rows = [("node", "kind", "ms", "detail", "outputs")]
    for node in result["decisionModelResultNodes"]:
        error = (node["errorMessage"] or "") + (" (default used)" if node["usedDefault"] else "")
        if "matchedRules" in node:
            error = f"rules {node['matchedRules']} matched " + error
        outputs = json.dumps(node["outputs"][0] if node["outputs"] else None, default=str)
        rows.append((node["id"], node["type"], f"{node['executionTime']:.3f}", error, outputs))
    widths = [max(len(str(r[i])) for r in rows) for i in range(4)]
    for row in rows:
        print("  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(row[:4])) + "  " + str(row[4]))
    print(f"outputs: {json.dumps(result['outputs'], default=str)}")
    if result["debug"]["logs"]:
        print("logs:\n" + result["debug"]["logs"])
    if run.error:
        print(f"error: {run.error}" + (" (variant fallback used)" if run.used_fallback else ""))
    return 0 if not result["error"] else 1


def cmd_import_dmn(args: argparse.Namespace) -> int:
    from .dmn_import import DmnError, import_dmn

    # The model id is the file name unless --id says otherwise: every Sitecore export has id="definitions".
    model_id = args.id or Path(args.file).stem
    try:
        text, warnings = import_dmn(Path(args.file).read_bytes(), model_id=model_id)
    except (OSError, DmnError) as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return 1
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        print(text, end="")
    return 0


def cmd_test_connection(args: argparse.Namespace) -> int:
    runtime = load_or_report(args.config)
    connections = runtime.connections
    if connections is None or args.name not in connections.connections:
        print(f"no connection {args.name!r}", file=sys.stderr)
        return 2

    async def run() -> dict[str, Any]:
        assert connections is not None
        try:
            return await connections.test(args.name, parse_params(args.input))
        finally:
            await connections.aclose()

    result = asyncio.run(run())
    print(json.dumps(result, indent=2, default=str))
    return 0 if result["ok"] else 1


def cmd_postman_connection(args: argparse.Namespace) -> int:
    from connections.postman import collection

    runtime = load_or_report(args.config)
    known = runtime.connections.connections if runtime.connections is not None else {}
    if args.all:
        chosen = list(known.values())
    elif args.name in known:
        chosen = [known[args.name]]
    else:
        print(f"no connection {args.name!r}; known: {', '.join(sorted(known)) or 'none'}", file=sys.stderr)
        return 2
    text = json.dumps(collection(chosen), indent=2) + "\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        print(text, end="")
    return 0


def cmd_postman_export(args: argparse.Namespace) -> int:
    from .postman_export import build_collection, environment

    runtime = load_or_report(args.config)
    folder = Path(args.output)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "personalize.postman_collection.json").write_text(
        json.dumps(build_collection(runtime), indent=2) + "\n", encoding="utf-8"
    )
    (folder / "demo.postman_environment.json").write_text(
        json.dumps(environment(runtime), indent=2) + "\n", encoding="utf-8"
    )
    print(f"wrote {folder}/personalize.postman_collection.json and {folder}/demo.postman_environment.json")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    schema = ConfigFile.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "personalize config file"
    print(json.dumps(schema, indent=2))
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    """Migrations also run when the service starts; this runs them alone (say, before a rolling deploy)."""
    from ..app import open_profile_store
    from ..profiles import SchemaError, StorageError

    try:
        store = open_profile_store(load_or_report(args.config), args.data_dir)
    except (SchemaError, StorageError) as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"{store.path}: schema version {store.schema_version}")
    store.close()
    return 0


def cmd_guest(args: argparse.Namespace) -> int:
    from ..app import open_profile_store
    from ..profiles import privacy

    identity = None
    if args.identity:
        kind, _, value = args.identity.partition(":")
        if not value:
            print("--identity is KIND:ID, e.g. email:ana@example.com", file=sys.stderr)
            return 2
        identity = (kind, value)
    store = open_profile_store(load_or_report(args.config), args.data_dir)

    async def run() -> dict[str, Any] | None:
        ref = await privacy.find_ref(store, args.project, args.ref, identity)
        if ref is None:
            return None
        if args.action == "export":
            return await privacy.export_guest(store, ref)
        return {"ref": ref, "deleted": await privacy.delete_guest(store, ref)}

    try:
        result = asyncio.run(run())
    finally:
        store.close()
    return print_found(result, f"no such guest in project {args.project!r}")


def print_found(result: Any, missing: str) -> int:
    """A command's result as JSON on stdout (0), or `missing` on stderr when there is none (1)."""
    if result is None:
        print(missing, file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0
