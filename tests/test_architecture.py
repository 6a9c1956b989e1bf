"""The package's shape: stages in data-flow order, lower layers never import upper ones, no import cycles
(imports inside functions included), no code run from data files, and CLI help that shows every setting."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mocap"

#: Layers in data-flow order; a module may import its own layer and those before it, never a later one.
LAYERS = [
    ("mocap._version", "mocap.errors", "mocap.units", "mocap.geometry", "mocap.registry", "mocap.parallel",
     "mocap.config", "mocap.io", "mocap.layout", "mocap.named"),
    ("mocap.camera", "mocap.multiview", "mocap.session"),
    ("mocap.body", "mocap.bodymodels"),
    ("mocap.calibration",),
    ("mocap.keypoints2d",),
    ("mocap.projects",),
    ("mocap.sync",),
    ("mocap.triangulation", "mocap.people"),
    ("mocap.smoothing",),
    ("mocap.fitting",),
    ("mocap.export",),
    ("mocap.evaluation",),
    ("mocap.report",),
    ("mocap.pipeline", "mocap.batch"),
    ("mocap.synth",),
    ("mocap.api", "mocap.cli", "mocap.addon", "mocap"),
]


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _target(name: str) -> str | None:
    """The module an imported name refers to (``mocap.a.b.func`` -> ``mocap.a.b``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, path: Path) -> set[str]:
    """Every mocap module ``module`` imports, at the top or inside functions."""
    found = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            names = [f"{base}.{a.name}" for a in node.names] + [base]
        else:
            continue
        for n in names:
            t = _target(n) if n.startswith("mocap") else None
            if t and t != module:
                found.add(t)
    return found


GRAPH = {m: _imports(m, p) for m, p in MODULES.items()}


def _layer(module: str) -> int:
    best, rank = -1, None
    for i, prefixes in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best:
                best, rank = len(p), i
    assert rank is not None, f"{module} is in no layer: add it to LAYERS in {__file__}"
    return rank


def test_every_module_has_a_layer():
    for module in MODULES:
        _layer(module)


def test_no_module_imports_a_later_stage():
    bad = [f"{m} imports {t}" for m, deps in GRAPH.items() for t in deps
           if _layer(t) > _layer(m) and not (m == "mocap" and t.startswith("mocap."))]
    assert not bad, "upstream imports:\n" + "\n".join(sorted(bad))


def test_no_import_cycles():
    # the package root imports the API, whose functions import the stages: leave the root's own edges out
    graph = {m: {t for t in deps if t != "mocap"} for m, deps in GRAPH.items()}
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for t in sorted(graph.get(m, ())):
            if state.get(t) == 1:
                cycles.append(" -> ".join(stack[stack.index(t):] + [t]))
            elif t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_no_code_from_data_files():
    """Files from strangers (body models, rigs, sessions, keypoint files) must never run code."""
    pattern = re.compile(r"allow_pickle\s*=\s*True|pickle\.loads?\(|\beval\(|\bexec\(|torch\.load\((?![^)]*weights_only=True)"
                         r"|pd\.read_hdf|read_hdf\(|import pickle\b(?!tools)|from pickle ")
    hits = [f"{p.relative_to(PACKAGE.parent)}:{i}: {line.strip()}" for p in MODULES.values()
            for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
            if pattern.search(line) and not line.strip().startswith("#")]
    assert not hits, "\n".join(hits)


def _help(*args: str) -> str:
    from click.testing import CliRunner

    from mocap.cli import cli

    result = CliRunner().invoke(cli, [*args, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


@pytest.mark.parametrize("command", ["calibrate", "detect", "triangulate", "fit", "export"])
def test_help_shows_every_setting_of_the_command(command):
    from mocap.cli.stages import COMMAND_CONFIGS

    text = _help(command)
    for options in COMMAND_CONFIGS[command]:
        for param, *_ in options.fields():
            assert "--" + param.replace("_", "-") in text, f"mocap {command} --help lacks --{param}"


def test_run_help_lists_every_table_and_setting():
    import typing

    from mocap.pipeline import RunConfig

    text = _help("run")

    def check(klass, table):
        hints = typing.get_type_hints(klass)
        for f in dataclasses.fields(klass):
            if dataclasses.is_dataclass(hints[f.name]):
                sub = f"{table}.{f.name}" if table else f.name
                assert f"[{sub}]" in text, f"mocap run --help lacks the [{sub}] table"
                check(hints[f.name], sub)
            else:
                assert f"{f.name} =" in text, f"mocap run --help lacks [{table}] {f.name}"

    check(RunConfig, "")
