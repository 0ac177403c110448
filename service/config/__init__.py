"""Config as code: YAML files -> validated pydantic models -> compiled, immutable Runtime."""

from __future__ import annotations

import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from ..runtime import Runtime
from .build import build_runtime
from .errors import ConfigError, ConfigIssue
from .loading import load_config
from .schema import ConfigFile

__all__ = ["DEMO_SOURCE", "ConfigError", "ConfigFile", "ConfigIssue", "demo_config_path", "load_runtime"]
DEMO_SOURCE = "(embedded demo)"


def demo_config_path() -> Path:
    """The embedded demo config shipped inside the package."""
    return Path(str(resources.files("service").joinpath("demo/demo.yaml")))


def load_runtime(path: Path | str | None = None, env: Mapping[str, str] | None = None) -> Runtime:
    """Load, validate and compile a config file or directory (the embedded demo when `path` is None)."""
    target = demo_config_path() if path is None else Path(path)
    loaded = load_config(target, os.environ if env is None else env)
    return build_runtime(loaded, DEMO_SOURCE if path is None else str(target))
