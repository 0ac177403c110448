"""The `personalize` command: serve, validate, call, schema."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["build_parser", "main", "parse_params"]

Command = Callable[[argparse.Namespace], int]


def _lazy(module: str, name: str) -> Command:
    """A command imported when it runs: `serve --workers N` then keeps its supervisor free of what only the
    workers use (the service's imports cost ~45 MiB of a ~75 MiB supervisor)."""

    def run(args: argparse.Namespace) -> int:
        command: Command = getattr(importlib.import_module(f"{__name__}.{module}"), name)
        return command(args)

    return run


def parse_params(pairs: Any) -> dict[str, Any]:
    from .commands import parse_params as parse

    return parse(pairs)


def build_parser() -> argparse.ArgumentParser:
    # Long on purpose: one declarative table of every command and flag, read top to bottom like --help.
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
        "--data-dir", help="where guest profiles are kept (default: $XDG_DATA_HOME or ~/.local/share, /personalize)"
    )
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
    serve.set_defaults(func=_lazy("serve", "cmd_serve"))

    validate = sub.add_parser("validate", help="check a config; print every error with its file and path")
    validate.add_argument("path")
    validate.set_defaults(func=_lazy("commands", "cmd_validate"))

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
    call.set_defaults(func=_lazy("commands", "cmd_call"))

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
    test_model.set_defaults(func=_lazy("commands", "cmd_test_model"))

    import_dmn = sub.add_parser("import-dmn", help="convert a DMN 1.1 export into decisionModels YAML")
    import_dmn.add_argument("file")
    import_dmn.add_argument("--id", help="the model id (default: from the file name)")
    import_dmn.add_argument("-o", "--output", help="write here instead of stdout")
    import_dmn.set_defaults(func=_lazy("commands", "cmd_import_dmn"))

    test_connection = sub.add_parser("test-connection", help="run a connection once; print the whole exchange")
    test_connection.add_argument("name")
    test_connection.add_argument("--input", action="append", default=[], metavar="KEY=VALUE")
    test_connection.add_argument("--config")
    test_connection.set_defaults(func=_lazy("commands", "cmd_test_connection"))

    postman = sub.add_parser("postman", help="write Postman v2.1 collections")
    postman_sub = postman.add_subparsers(dest="postman_command", required=True)
    postman_connection = postman_sub.add_parser("connection", help="a collection item reproducing a connection")
    postman_connection.add_argument("name", nargs="?")
    postman_connection.add_argument("--all", action="store_true", help="every connection")
    postman_connection.add_argument("--config")
    postman_connection.add_argument("-o", "--output")
    postman_connection.set_defaults(func=_lazy("commands", "cmd_postman_connection"))
    postman_export = postman_sub.add_parser("export", help="the collection of every endpoint, from the config")
    postman_export.add_argument("--config")
    postman_export.add_argument("-o", "--output", default="postman", help="folder (default: postman)")
    postman_export.set_defaults(func=_lazy("commands", "cmd_postman_export"))

    guest = sub.add_parser("guest", help="export or delete everything stored about a guest")
    guest.add_argument("action", choices=["export", "delete"])
    guest.add_argument("--data-dir", help="the served data directory (default: as personalize serve)")
    guest.add_argument("--config", help="the served config, for settings.storage (default: the demo)")
    guest.add_argument("--project", required=True, help="the project id")
    target = guest.add_mutually_exclusive_group(required=True)
    target.add_argument("--ref", help="the guest ref (a merged ref is followed)")
    target.add_argument("--identity", help="KIND:ID, e.g. email:ana@example.com or browser:b-1")
    guest.set_defaults(func=_lazy("commands", "cmd_guest"))
    migrate = sub.add_parser("migrate", help="bring the profile store's schema up to this version, then exit")
    migrate.add_argument("--data-dir", help="the served data directory (default: as personalize serve)")
    migrate.add_argument("--config", help="the served config, for settings.storage (default: the demo)")
    migrate.set_defaults(func=_lazy("commands", "cmd_migrate"))
    worker = sub.add_parser("worker", help="deliver triggered pushes from the outbox until stopped")
    worker.add_argument("--data-dir", help="the served data directory (default: as personalize serve)")
    worker.add_argument("--config", help="the served config (default: the demo)")
    worker.set_defaults(func=_lazy("deliveries", "cmd_worker"))
    deliveries = sub.add_parser("deliveries", help="the delivery log; replay one; recover a destination")
    deliveries.add_argument("action", choices=["list", "show", "replay", "recover"])
    deliveries.add_argument("target", nargs="?", help="show/replay: a delivery id; recover: a destination")
    deliveries.add_argument("--since", help="recover: what failed since (epoch seconds or ISO 8601)")
    deliveries.add_argument("--status", help="list: pending, delivered, dead, aborted, not_rendered")
    deliveries.add_argument("--destination", help="list: one destination")
    deliveries.add_argument("--data-dir", help="the served data directory (default: as personalize serve)")
    deliveries.add_argument("--config", help="the served config (default: the demo)")
    deliveries.set_defaults(func=_lazy("deliveries", "cmd_deliveries"))
    preview = sub.add_parser("preview-trigger", help="what a sample event would fire, and each push's request")
    preview.add_argument("type", help="the event type, e.g. ADD_TO_CART")
    preview.add_argument("--data", default="{}", help="the event's body as JSON")
    preview.add_argument("--identity", help="a stored guest, KIND:ID (default: a new guest)")
    preview.add_argument("--entered", action="append", default=[], help="a segment the event enters (repeat)")
    preview.add_argument("--exited", action="append", default=[], help="a segment the event leaves (repeat)")
    preview.add_argument("--project", help="the project id (default: the only one)")
    preview.add_argument("--data-dir", help="the served data directory (default: as personalize serve)")
    preview.add_argument("--config", help="the served config (default: the demo)")
    preview.set_defaults(func=_lazy("deliveries", "cmd_preview_trigger"))
    schema = sub.add_parser("schema", help="print the JSON Schema of the config format")
    schema.set_defaults(func=_lazy("commands", "cmd_schema"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except Exception as exc:
        from .commands import ConfigFailed  # imported here: the commands module is the heavy one

        if not isinstance(exc, ConfigFailed):
            raise
        return 2  # a config that did not load: its errors are printed already
    return code


if __name__ == "__main__":
    sys.exit(main())
