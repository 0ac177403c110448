"""Read YAML config files, resolve `${env:NAME}` references, validate each file, merge them."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .errors import ConfigError, ConfigIssue, format_path
from .schema import ConfigFile, Management, Settings

# ${env:NAME} or ${env:NAME:-default}; anything else with ${...} is a template placeholder, left alone.
_ENV_REF = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
LIST_SECTIONS = ("projects", "audiences", "connections", "decision_models", "experiences", "triggers")

# Bounds on what one config file may cost to load. YAML aliases share one parsed value, but everything
# after parsing (env resolution, validation) walks the expanded tree: a 478-byte "billion laughs" file
# grew a served process to 2.4 GB before these. The expansion is measured on the shared graph, in time
# linear in the file, before anything expands it.
MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_VALUES = 4_000_000  # values with every alias expanded: a 16 MB file holds ~2.5 M (the demo ~700)
MAX_DEPTH = 100  # nesting of mappings and lists (the demo's deepest is 9)
# libyaml's parser when PyYAML was built with it: a 10 MB config took over 60 s with the pure-Python one.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _TooBig(Exception):
    pass


def _expanded_size(root: Any) -> str | None:
    """Why the parsed tree is too big or too deep with aliases expanded, or None when it is within bounds."""
    sizes: dict[int, int] = {}  # id -> expanded values, for containers seen (aliases are the same object)
    depths: dict[int, int] = {}
    visiting: set[int] = set()

    def walk(node: Any) -> tuple[int, int]:
        if not isinstance(node, (dict, list)):
            return 1, 0
        key = id(node)
        if key in sizes:
            return sizes[key], depths[key]
        if key in visiting:
            raise _TooBig("an alias refers to a value that contains it (a recursive structure)")
        visiting.add(key)
        children = list(node.keys()) + list(node.values()) if isinstance(node, dict) else node
        size, depth = 1, 0
        for child in children:
            child_size, child_depth = walk(child)
            size, depth = size + child_size, max(depth, child_depth + 1)
            if size > MAX_VALUES:
                raise _TooBig(f"more than {MAX_VALUES:,} values once its aliases are expanded")
            if depth > MAX_DEPTH:
                raise _TooBig(f"nested deeper than {MAX_DEPTH} levels")
        visiting.discard(key)
        sizes[key], depths[key] = size, depth
        return size, depth

    try:
        walk(root)
    except _TooBig as exc:
        return str(exc)
    except RecursionError:
        return f"nested deeper than {MAX_DEPTH} levels"
    return None


def parse_yaml(name: str, data: bytes, issues: list[ConfigIssue]) -> Any:
    """The YAML document in `data`, or None with the reason in `issues`: size, encoding, syntax, bounds."""
    if len(data) > MAX_FILE_BYTES:
        issues.append(ConfigIssue(name, "(file)", f"larger than {MAX_FILE_BYTES:,} bytes, the limit for a config file"))
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        issues.append(ConfigIssue(name, f"byte {exc.start}", "not UTF-8 text"))
        return None
    try:
        raw = yaml.load(text, Loader=_LOADER)  # a safe loader, C or Python
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        issues.append(ConfigIssue(name, where, f"invalid YAML: {getattr(exc, 'problem', exc)}"))
        return None
    except RecursionError:
        issues.append(ConfigIssue(name, "(file)", f"nested deeper than {MAX_DEPTH} levels"))
        return None
    problem = _expanded_size(raw)
    if problem is not None:
        issues.append(ConfigIssue(name, "(file)", problem))
        return None
    return {} if raw is None else raw


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a merged item came from: its file and its path inside that file."""

    file: str
    path: str


@dataclass
class LoadedConfig:
    """All files validated and merged; `origins[section][i]` says where item i came from."""

    settings: Settings
    management: Management
    items: dict[str, list[Any]] = field(default_factory=dict)
    origins: dict[str, list[Origin]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


def config_files(path: Path) -> list[Path]:
    """The file itself, or every *.yaml / *.yml in the directory (sorted, not recursive)."""
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    return [path]


def resolve_env(node: Any, env: Mapping[str, str], loc: tuple[str | int, ...], missing: list[tuple[str, str]]) -> Any:
    """A copy of `node` with every `${env:NAME}` replaced; unset names are collected in `missing`."""
    if isinstance(node, str):
        if "${env:" not in node:
            return node

        def substitute(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            missing.append((format_path(loc), name))
            return ""

        return _ENV_REF.sub(substitute, node)
    if isinstance(node, dict):
        return {k: resolve_env(v, env, (*loc, str(k)), missing) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve_env(v, env, (*loc, i), missing) for i, v in enumerate(node)]
    return node


def _read_file(path: Path, env: Mapping[str, str], issues: list[ConfigIssue]) -> ConfigFile | None:
    name = str(path)
    try:
        with path.open("rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)  # never more than the limit, whatever the file's size
    except OSError as exc:
        issues.append(ConfigIssue(name, "(file)", f"cannot read: {exc.strerror}"))
        return None
    raw = parse_yaml(name, data, issues)
    if raw is None:
        return None
    if not isinstance(raw, dict):
        issues.append(ConfigIssue(name, "(top level)", f"must be a mapping, not {type(raw).__name__}"))
        return None
    missing: list[tuple[str, str]] = []
    resolved = resolve_env(raw, env, (), missing)
    for where, var in missing:
        issues.append(ConfigIssue(name, where, f"environment variable {var} is not set"))
    if missing:
        return None
    try:
        return ConfigFile.model_validate(resolved)
    except ValidationError as exc:
        for error in exc.errors(include_input=False, include_url=False):
            issues.append(ConfigIssue(name, format_path(error["loc"]), error["msg"]))
        return None


def load_config(path: Path | str, env: Mapping[str, str] | None = None) -> LoadedConfig:
    """Load and merge a config file or directory, or raise ConfigError listing every problem."""
    root = Path(path)
    env = os.environ if env is None else env
    issues: list[ConfigIssue] = []
    if not root.exists():
        raise ConfigError([ConfigIssue(str(root), "(file)", "no such file or directory")])
    files = config_files(root)
    if not files:
        raise ConfigError([ConfigIssue(str(root), "(directory)", "holds no .yaml or .yml files")])
    parsed = [(str(p), _read_file(p, env, issues)) for p in files]
    if issues:
        raise ConfigError(issues)

    loaded = LoadedConfig(settings=Settings(), management=Management(), files=[name for name, _ in parsed])
    singles: dict[str, str] = {}
    for section in LIST_SECTIONS:
        loaded.items[section] = []
        loaded.origins[section] = []
    for name, config in parsed:
        assert config is not None
        for single in ("settings", "management"):
            if single in config.model_fields_set:
                if single in singles:
                    issues.append(ConfigIssue(name, single, f"already set in {singles[single]}; set it in one file"))
                    continue
                singles[single] = name
                setattr(loaded, single, getattr(config, single))
        for section in LIST_SECTIONS:
            alias = ConfigFile.model_fields[section].alias or section
            for index, item in enumerate(getattr(config, section)):
                loaded.items[section].append(item)
                loaded.origins[section].append(Origin(name, f"{alias}[{index}]"))
    if issues:
        raise ConfigError(issues)
    return loaded
