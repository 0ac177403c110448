"""The `personalize` command: serve, validate, call, schema."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
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


class _ConfigFailed(Exception):
    """The config did not load; its errors are printed already."""


def _runtime(path: str | None) -> Runtime:
    try:
        return load_runtime(path)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        raise _ConfigFailed from None


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    # The demo's connection calls the sandbox this very process serves.
    os.environ.setdefault("PERSONALIZE_SANDBOX_URL", f"http://{args.host}:{args.port}/sandbox")
    _runtime(args.config)  # fail fast, with every error, before binding the port
    os.environ["PERSONALIZE_CONFIG"] = args.config or ""
    os.environ["PERSONALIZE_ACCESS_LOG"] = "0" if args.no_access_log else "1"
    os.environ["PERSONALIZE_WATCH"] = "1" if args.watch else "0"
    # Read by service.http.server in each worker.
    os.environ["PERSONALIZE_HEADER_TIMEOUT"] = str(args.header_timeout)
    os.environ["PERSONALIZE_MAX_HEADER_BYTES"] = str(args.max_header_bytes)
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Several processes: each writes its metrics here and /metrics merges them.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="personalize-metrics-")
    options: dict[str, Any] = {
        "factory": True,
        "host": args.host,
        "port": args.port,
        "access_log": False,
        "log_level": "info",
        "server_header": False,
        "http": "service.http.server:GuardedHttpToolsProtocol",
        "timeout_keep_alive": args.keep_alive_timeout,
        "timeout_graceful_shutdown": args.shutdown_timeout,
    }
    if args.workers > 1:  # uvicorn's supervisor; each worker drains on SIGTERM as below
        uvicorn.run("service.app:app_from_env", workers=args.workers, **options)
        return 0
    from ..http.server import DrainingServer

    server = DrainingServer(uvicorn.Config("service.app:app_from_env", **options))
    server.run()
    return 0 if server.started else 3
    return 0


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

    runtime = _runtime(args.config)
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

    runtime = _runtime(args.config)
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
    runtime = _runtime(args.config)
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

    runtime = _runtime(args.config)
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

    runtime = _runtime(args.config)
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="personalize", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the API (the embedded demo config without --config)")
    serve.add_argument("--config", help="a YAML file or a directory of them")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--no-access-log", action="store_true", help="do not write JSON access-log lines")
    serve.add_argument("--watch", action="store_true", help="reload when a config file changes (also: SIGHUP)")
    serve.add_argument(
        "--header-timeout", type=float, default=10.0, help="seconds for a request's head to arrive (default 10)"
    )
    serve.add_argument("--max-header-bytes", type=int, default=32768, help="largest request head (default 32768)")
    serve.add_argument(
        "--keep-alive-timeout", type=float, default=5.0, help="seconds an idle keep-alive connection stays open"
    )
    serve.add_argument(
        "--shutdown-timeout",
        type=float,
        default=10.0,
        help="on SIGTERM, seconds in-flight requests get to finish before their connections close (default 10)",
    )
    serve.set_defaults(func=cmd_serve)

    validate = sub.add_parser("validate", help="check a config; print every error with its file and path")
    validate.add_argument("path")
    validate.set_defaults(func=cmd_validate)

    call = sub.add_parser("call", help="decide locally; the response on stdout, the trace on stderr")
    call.add_argument("friendly_id")
    call.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a param; dots nest (loyalty.tier=gold); JSON values are typed",
    )
    call.add_argument("--browser-id")
    call.add_argument("--email")
    call.add_argument("--channel", default="WEB")
    call.add_argument("--language")
    call.add_argument("--currency")
    call.add_argument("--point-of-sale", default="")
    call.add_argument("--project")
    call.add_argument("--preview", action="store_true", help="run the draft version")
    call.add_argument("--config")
    call.set_defaults(func=cmd_call)

    test_model = sub.add_parser("test-model", help="run a decision model variant and print every node's result")
    test_model.add_argument("model")
    test_model.add_argument("--variant", help="the variant to run (default: the visitor's production variant)")
    test_model.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a param (tier=gold), or request.channel=WEB / guest.email=...; dots nest",
    )
    test_model.add_argument("--guest", help="a JSON file with the guest profile")
    test_model.add_argument("--project")
    test_model.add_argument("--config")
    test_model.add_argument("--json", action="store_true", help="print the /v2/testDecisionModel answer")
    test_model.set_defaults(func=cmd_test_model)

    import_dmn = sub.add_parser("import-dmn", help="convert a DMN 1.1 export into decisionModels YAML")
    import_dmn.add_argument("file")
    import_dmn.add_argument("--id", help="the model id (default: from the file name)")
    import_dmn.add_argument("-o", "--output", help="write here instead of stdout")
    import_dmn.set_defaults(func=cmd_import_dmn)

    test_connection = sub.add_parser("test-connection", help="run a connection once; print the whole exchange")
    test_connection.add_argument("name")
    test_connection.add_argument("--input", action="append", default=[], metavar="KEY=VALUE")
    test_connection.add_argument("--config")
    test_connection.set_defaults(func=cmd_test_connection)

    postman = sub.add_parser("postman", help="write Postman v2.1 collections")
    postman_sub = postman.add_subparsers(dest="postman_command", required=True)
    postman_connection = postman_sub.add_parser("connection", help="a collection item reproducing a connection")
    postman_connection.add_argument("name", nargs="?")
    postman_connection.add_argument("--all", action="store_true", help="every connection")
    postman_connection.add_argument("--config")
    postman_connection.add_argument("-o", "--output")
    postman_connection.set_defaults(func=cmd_postman_connection)
    postman_export = postman_sub.add_parser("export", help="the collection of every endpoint, from the config")
    postman_export.add_argument("--config")
    postman_export.add_argument("-o", "--output", default="postman", help="folder (default: postman)")
    postman_export.set_defaults(func=cmd_postman_export)

    schema = sub.add_parser("schema", help="print the JSON Schema of the config format")
    schema.set_defaults(func=cmd_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except _ConfigFailed:
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
