"""Config reload: from the management API, on SIGHUP, or when a watched config file changes.

The new config is loaded and compiled off the event loop, then swapped in whole with one assignment:
requests already running finish on the config they started with, new ones get the new one, and an
invalid config is rejected with its errors while the running one keeps serving (never half-applied).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import ConfigError, ConfigIssue, load_runtime
from ..config.loading import config_files
from ..runtime import Runtime, RuntimeRef

GRACE_SECONDS = 30.0  # the old config's connections close after requests using them have finished


@dataclass
class ReloadOutcome:
    ok: bool
    trigger: str
    source: str
    errors: list[ConfigIssue] = field(default_factory=list)
    ms: float = 0.0

    def body(self) -> dict[str, Any]:
        return {
            "status": "reloaded" if self.ok else "rejected",
            "trigger": self.trigger,
            "config": self.source,
            "ms": round(self.ms, 1),
            "errors": [{"file": e.file, "path": e.path, "message": e.message} for e in self.errors],
        }


class Reloader:
    def __init__(
        self,
        ref: RuntimeRef,
        path: str | None,
        env: Mapping[str, str] | None = None,
        report: Callable[[ReloadOutcome], None] = lambda outcome: None,
    ) -> None:
        self.ref = ref
        self.path = path
        self.env = env
        self.report = report  # every outcome, whatever triggered it (the app logs them)
        self.lock = asyncio.Lock()
        self.reloads = 0

    async def reload(self, trigger: str) -> ReloadOutcome:
        outcome = await self._reload(trigger)
        self.report(outcome)
        return outcome

    async def _reload(self, trigger: str) -> ReloadOutcome:
        started = time.perf_counter()
        source = self.path or "(embedded demo)"
        async with self.lock:
            try:
                fresh: Runtime = await asyncio.to_thread(load_runtime, self.path, self.env)
            except ConfigError as exc:
                return ReloadOutcome(False, trigger, source, exc.issues, (time.perf_counter() - started) * 1000)
            old = self.ref.current
            if fresh.connections is not None:
                fresh.connections.warm()
            self.ref.current = fresh
            self.reloads += 1
            if old.connections is not None:
                asyncio.get_running_loop().call_later(GRACE_SECONDS, _close_later, old)
        return ReloadOutcome(True, trigger, source, [], (time.perf_counter() - started) * 1000)

    def fingerprint(self) -> tuple[tuple[str, float], ...]:
        if self.path is None:
            return ()
        try:
            return tuple((str(p), p.stat().st_mtime) for p in config_files(Path(self.path)))
        except OSError:
            return ()

    async def watch(self, interval: float = 1.0) -> None:
        """Reload whenever a config file's modification time changes (polling: no extra dependency)."""
        seen = self.fingerprint()
        while True:
            await asyncio.sleep(interval)
            now = self.fingerprint()
            if now != seen:
                seen = now
                await self.reload("file change")


def _close_later(runtime: Runtime) -> None:
    if runtime.connections is not None:
        task = asyncio.ensure_future(runtime.connections.aclose())
        task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)


def install_sighup(reloader: Reloader) -> None:
    """`kill -HUP <pid>` reloads the config (where the platform and thread allow a signal handler)."""
    import signal

    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(reloader.reload("SIGHUP")))


def watching() -> bool:
    return os.environ.get("PERSONALIZE_WATCH", "0") == "1"
