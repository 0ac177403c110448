"""`personalize worker` (deliver from the outbox, beside or instead of the one in `serve`) and
`personalize deliveries list|show|replay|recover` (the management API's delivery operations, locally)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time
from collections.abc import Coroutine
from typing import Any

from ..app import open_profile_store
from ..delivery import admin
from ..delivery.worker import DeliveryWorker
from ..http.errors import ApiError
from ..management.deliveries import parse_time
from ..triggers.preview import Sample, preview
from .commands import load_or_report, print_found


def cmd_worker(args: argparse.Namespace) -> int:
    runtime = load_or_report(args.config)
    store = open_profile_store(runtime, args.data_dir)

    async def run() -> None:
        worker = DeliveryWorker(store, lambda: runtime)
        task = asyncio.ensure_future(worker.run())
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, task.cancel)
        print(f"delivering from {store.path}", file=sys.stderr)
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if runtime.connections is not None:
            await runtime.connections.aclose()

    try:
        _event_loop_run(run())
    finally:
        store.close()
    return 0


def _event_loop_run(main: Coroutine[Any, Any, None]) -> None:
    """uvloop where installed (uvicorn[standard] brings it, as it does for `serve`): measured, the worker
    pushed ~15 % more deliveries a second on it than on asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


def cmd_deliveries(args: argparse.Namespace) -> int:
    store = open_profile_store(load_or_report(args.config), args.data_dir)
    try:
        result = _run(store, args)
    except ApiError as exc:
        print(exc.developer_message, file=sys.stderr)
        return 2
    finally:
        store.close()
    return print_found(result, f"no such delivery: {args.target}")


def _run(store: Any, args: argparse.Namespace) -> Any:
    now = time.time()
    if args.action == "list":
        return admin.deliveries(store, admin.Filters(destination=args.destination, status=args.status))
    if not args.target:
        raise ApiError(400, f"{args.action}: name a delivery id (recover: a destination)", "target")
    if args.action == "show":
        return admin.delivery(store, args.target)
    if args.action == "replay":
        return {"id": args.target, "status": "pending"} if admin.replay(store, args.target, now) else None
    if not args.since:
        raise ApiError(400, "recover: --since is required", "since")
    return {
        "destination": args.target,
        "recovered": admin.recover(store, args.target, parse_time(args.since, "since"), now),
    }


def cmd_preview_trigger(args: argparse.Namespace) -> int:
    """Nothing is sent or stored: the verdicts and requests are printed."""
    runtime = load_or_report(args.config)
    project = runtime.projects.get(args.project) if args.project else next(iter(runtime.projects.values()), None)
    if project is None or (args.project is None and len(runtime.projects) != 1):
        print("--project: name one of " + ", ".join(sorted(runtime.projects)), file=sys.stderr)
        return 2
    try:
        data = json.loads(args.data)
    except json.JSONDecodeError as exc:
        print(f"--data is not JSON: {exc}", file=sys.stderr)
        return 2
    kind, _, value = (args.identity or "").partition(":")
    if (args.identity and not value) or not isinstance(data, dict):
        print("--identity is KIND:ID and --data a JSON object", file=sys.stderr)
        return 2
    sample = Sample(args.type, data, None, (kind, value) if value else None, frozenset(args.entered),
                    frozenset(args.exited))  # fmt: skip
    store = open_profile_store(runtime, args.data_dir)
    try:
        print(json.dumps(preview(store, project, sample, time.time()), indent=2))
    finally:
        store.close()
    return 0
