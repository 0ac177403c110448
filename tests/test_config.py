"""Config loading: validation with file and path, directory merge, env references, semantic checks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from service.config import ConfigError, load_runtime
from service.config.loading import load_config
from tests.hostile import LAUGHS

Write = Callable[..., Path]

BASE = """
projects: [{id: p, clientKey: k, contextIds: [ctx]}]
experiences:
  - friendlyId: one
    status: active
    type: ab
    variants:
      - {id: a, weight: 5000, response: {a: 1}}
      - {id: b, weight: 5000, response: {b: 1}}
"""


def errors_of(path: Path, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_runtime(path, env=env or {})
    return [str(issue) for issue in info.value.issues]


def test_demo_config_loads() -> None:
    runtime = load_runtime(env={})
    demo = runtime.projects["demo"]
    assert demo.client_key == "demo"
    assert demo.context_ids == ("demo",)
    assert demo.contentstack_project_uid == "demo"
    assert "home_banner" in demo.catalog.experiences
    assert runtime.by_context_id["demo"] is demo


def test_valid_config_compiles(write_config: Write) -> None:
    runtime = load_runtime(write_config(BASE), env={})
    assert runtime.by_client_key["k"].catalog.experiences["one"].live.bounds == (5000, 10000)


def test_field_errors_name_file_and_path(write_config: Write) -> None:
    path = write_config("""
        projects: [{id: p}]
        experiences:
          - friendlyId: ok_one
            type: ab
            variants: [{id: a, weight: 10000, response: {}}]
          - friendlyId: Bad-Id
            type: ab
            variants: [{id: a, weight: -1, response: {}}]
            colour: red
        """)
    errors = errors_of(path)
    assert f"{path}: experiences[1].friendlyId: String should match pattern '^[a-z0-9_]+$'" in errors
    assert f"{path}: experiences[1].variants[0].weight: Input should be greater than or equal to 0" in errors
    assert f"{path}: experiences[1].colour: Extra inputs are not permitted" in errors


def test_ab_weights_must_cover_the_space(write_config: Write) -> None:
    path = write_config("""
        projects: [{id: p}]
        experiences:
          - {friendlyId: x, type: ab, variants: [{id: a, weight: 4000, response: {}}]}
        """)
    assert errors_of(path) == [
        f"{path}: experiences[0]: Value error, A/B variant weights must add up to 10000 basis points, not 4000"
    ]


def test_unknown_references_and_bad_rules(write_config: Write) -> None:
    path = write_config("""
        projects: [{id: p}]
        audiences:
          - {id: typo, rule: {"equals": [1, 1]}}
        experiences:
          - friendlyId: x
            type: segmented
            audience: nobody
            variants:
              - {id: a, audience: ghost, decisionModels: [missing], response: {t: "${secret.x}"}}
        """)
    errors = errors_of(path)
    assert f"{path}: audiences[0].rule: invalid rule: unknown operator `equals`" in errors
    assert f"{path}: experiences[0].variants[0].audience: unknown audience 'ghost'" in errors
    assert f"{path}: experiences[0].variants[0].decisionModels[0]: unknown decision model 'missing'" in errors
    assert f"{path}: experiences[0].audience: unknown audience 'nobody'" in errors
    assert any(
        e.startswith(f"{path}: experiences[0].variants[0].response: at t: '${{secret.x}}' reads 'secret'")
        for e in errors
    )


def test_directory_merge_reports_the_right_file(write_config: Write, tmp_path: Path) -> None:
    write_config(BASE, "10-base.yaml")
    bad = write_config(
        """
        experiences:
          - {friendlyId: two, type: segmented, variants: [{id: a, audience: ghost, response: {}}]}
          - {friendlyId: one, type: segmented, variants: [{id: a, response: {}}]}
        """,
        "20-more.yml",
    )
    write_config("not: yaml: here", "notes.txt")  # ignored: not .yaml / .yml
    errors = errors_of(tmp_path)
    assert errors == [
        f"{bad}: experiences[0].variants[0].audience: unknown audience 'ghost'",
        f"{bad}: experiences[1].friendlyId: 'one' is used twice in this project",
    ]


def test_directory_merge_works(write_config: Write, tmp_path: Path) -> None:
    write_config(BASE, "a.yaml")
    write_config(
        """
        audiences: [{id: gold, rule: {"==": [{"var": "params.tier"}, "gold"]}}]
        experiences:
          - {friendlyId: two, status: active, type: segmented, variants: [{id: a, audience: gold, response: {}}]}
        """,
        "b.yaml",
    )
    catalog = load_runtime(tmp_path, env={}).projects["p"].catalog
    assert catalog.ordered_ids == ("one", "two")


def test_settings_set_twice_is_an_error(write_config: Write, tmp_path: Path) -> None:
    write_config("settings: {defaultDeadlineMs: 100}\n" + BASE, "a.yaml")
    second = write_config("settings: {maxBodyBytes: 2048}\n", "b.yaml")
    assert errors_of(tmp_path) == [f"{second}: settings: already set in {tmp_path / 'a.yaml'}; set it in one file"]


def test_env_references_resolve_and_missing_ones_are_named(write_config: Write) -> None:
    path = write_config("""
        management: {tokens: ["${env:MGMT_TOKEN}"]}
        projects: [{id: p, clientKey: "${env:CLIENT_KEY:-fallback-key}", segmentWriteKeys: ["${env:WRITE_KEY}"]}]
        """)
    runtime = load_runtime(path, env={"MGMT_TOKEN": "t0ken-s3cret", "WRITE_KEY": "wk-s3cret"})
    assert runtime.by_client_key["fallback-key"].segment_write_keys == ("wk-s3cret",)
    assert runtime.is_management_token("t0ken-s3cret")
    assert not runtime.is_management_token("other")
    assert not runtime.is_management_token("")
    assert "s3cret" not in repr(runtime)  # secrets stay out of reprs, hence out of logs and traces

    errors = errors_of(path, env={"MGMT_TOKEN": "x"})
    assert errors == [f"{path}: projects[0].segmentWriteKeys[0]: environment variable WRITE_KEY is not set"]


def test_secrets_never_appear_in_errors(write_config: Write) -> None:
    path = write_config("""
        management: {tokens: ["${env:MGMT_TOKEN}"]}
        projects: [{id: "${env:MGMT_TOKEN}"}]
        """)
    errors = errors_of(path, env={"MGMT_TOKEN": "bad id with spaces s3cret"})
    assert errors and all("s3cret" not in e for e in errors)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("projects: [{id: p}\n", "line "),
        ("- a\n- b\n", "(top level): must be a mapping, not list"),
    ],
)
def test_unreadable_files(write_config: Write, text: str, expected: str) -> None:
    path = write_config(text)
    [error] = errors_of(path)
    assert error.startswith(f"{path}: ") and expected in error


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(LAUGHS.encode(), "(file): more than 4,000,000 values once its aliases are expanded", id="laughs"),
        pytest.param(b"a: &a [x, *a]\n", "(file): an alias refers to a value that contains it", id="recursive"),
        pytest.param(b"a:\n" + b"- " * 150 + b"x\n", "(file): nested deeper than 100 levels", id="deep"),
        pytest.param(b"a:\n" + b"- " * 10_000 + b"x\n", "invalid YAML: exceeded maximum nesting depth", id="deeper"),
        pytest.param(b"projects: []\nname: caf\xe9\n", "byte 22: not UTF-8 text", id="latin-1"),
        pytest.param(b"#" * (16 * 1024 * 1024 + 1), "(file): larger than 16,777,216 bytes", id="large"),
    ],
)
def test_hostile_files_are_config_errors(tmp_path: Path, data: bytes, expected: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(data)
    [error] = errors_of(path)
    assert error.startswith(f"{path}: ") and expected in error


def test_aliases_within_bounds_still_load(write_config: Write) -> None:
    path = write_config(
        BASE
        + """
audiences:
  - &gold {id: gold, rule: {"==": [{"var": "params.tier"}, gold]}}
  - {<<: *gold, id: gold_too}
"""
    )
    assert [a.id for a in load_config(path, env={}).items["audiences"]] == ["gold", "gold_too"]
    load_runtime(path, env={})


def test_missing_path_and_empty_directory(tmp_path: Path) -> None:
    assert errors_of(tmp_path / "nope.yaml") == [f"{tmp_path / 'nope.yaml'}: (file): no such file or directory"]
    assert errors_of(tmp_path) == [f"{tmp_path}: (directory): holds no .yaml or .yml files"]


def test_projects_must_be_unambiguous(write_config: Write) -> None:
    path = write_config("""
        projects: [{id: a, clientKey: same, contextIds: [c]}, {id: b, clientKey: same, contextIds: [c]}]
        audiences: [{id: x, rule: true}, {id: y, project: zz, rule: true}]
        """)
    errors = errors_of(path)
    assert f"{path}: projects[1].clientKey: already used by project 'a'" in errors
    assert f"{path}: projects[1].contextIds[0]: already used by project 'a'" in errors
    assert f"{path}: audiences[0].project: required when the config defines more or less than one project" in errors
    assert f"{path}: audiences[1].project: unknown project 'zz'" in errors


def test_plugins_must_load(write_config: Write) -> None:
    path = write_config("""
        projects: [{id: p}]
        decisionModels:
          - {id: a, plugin: "tests.no_such_module:f"}
          - {id: b, plugin: "tests.plugins:NOT_CALLABLE"}
        """)
    errors = errors_of(path)
    assert any(e.startswith(f"{path}: decisionModels[0].plugin: cannot load tests.no_such_module:f") for e in errors)
    assert any(e.startswith(f"{path}: decisionModels[1].plugin: cannot load") and "not callable" in e for e in errors)
    malformed = write_config('projects: [{id: p}]\ndecisionModels: [{id: c, plugin: "not a reference"}]\n', "m.yaml")
    [error] = errors_of(malformed)
    assert error.startswith(f"{malformed}: decisionModels[0].plugin: String should match pattern")


def test_segmented_variants_reject_ab_fields(write_config: Write) -> None:
    path = write_config("""
        projects: [{id: p}]
        experiences:
          - {friendlyId: s, type: segmented, variants: [{id: a, weight: 10, response: {}}, {id: a, response: {}}]}
        """)
    [error] = errors_of(path)
    assert "weight and control are for A/B experiences only" in error
