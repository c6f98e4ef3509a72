"""Nothing outside `envs` reaches into the env: no `.core` or `._batch`, no underscore name of an env object, no
private name or module imported from `envs`. Callers use the documented properties (`max_turns`, `n_items`, ...).

import-linter forbids agents, benchmarks and simulators to import `envs._batch` (pyproject.toml); this scan covers
what it cannot see: attribute access, and the tests outside tests/envs (which may inspect the env's internals).
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("agents", "benchmarks", "simulators", "tests")
INSIDE = (ROOT / "envs", ROOT / "tests" / "envs")
ALWAYS_PRIVATE = {"core", "_batch"}  # the turn loop, by its old public name and its private one


def private_names_of_envs() -> set[str]:
    """Every underscore method and attribute the classes of `envs` define (`_rngs`, `_advance`, ...)."""
    names = set(ALWAYS_PRIVATE)
    for path in (ROOT / "envs").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        names.add(item.name)
                    elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                        names.add(item.target.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
                names.add(node.attr)
    return {name for name in names if name in ALWAYS_PRIVATE or (name.startswith("_") and not name.endswith("__"))}


def violations(source: str, private: set[str], where: str = "<source>") -> list[str]:
    """`where:line: what` for each reach into the env's inside in `source`."""
    found = []
    for node in ast.walk(ast.parse(source, where)):
        if isinstance(node, ast.Attribute) and node.attr in private:
            if not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):  # a class's own names
                found.append(f"{where}:{node.lineno}: .{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "envs":
            if any(part.startswith("_") for part in node.module.split(".")):
                found.append(f"{where}:{node.lineno}: from {node.module} import ...")
            found += [f"{where}:{node.lineno}: from {node.module} import {alias.name}"
                      for alias in node.names if alias.name.startswith("_")]
        elif isinstance(node, ast.Import):
            found += [f"{where}:{node.lineno}: import {alias.name}" for alias in node.names
                      if alias.name.split(".")[0] == "envs" and any(p.startswith("_") for p in alias.name.split("."))]
    return found


def outside_files() -> list[Path]:
    files = [path for folder in SCANNED for path in sorted((ROOT / folder).rglob("*.py"))]
    return [path for path in files if not any(path.is_relative_to(inside) for inside in INSIDE)]


def test_nothing_outside_envs_reaches_into_the_env():
    private = private_names_of_envs()
    assert {"_batch", "_rngs", "_advance", "_needs_reset"} <= private  # the scan knows the env's inside
    files = outside_files()
    assert any(path.parts[-2:] == ("reports", "fork.py") for path in files)
    found = [v for path in files for v in violations(path.read_text(), private, str(path.relative_to(ROOT)))]
    assert not found, "use the env's documented properties instead:\n" + "\n".join(found)


@pytest.mark.parametrize("line", [
    "n = env.core.n",
    "n = env.unwrapped.core.n",
    "turns = branches._batch.turn",
    "env._needs_reset[:] = False",
    "branches._advance(q, None)",
    "from envs._batch import DialogBatch",
    "from envs import _batch",
    "import envs._batch",
    "from envs.shoe_retrieval import _what_if",
])
def test_the_scan_finds_each_kind_of_reach(line):
    assert violations(line, private_names_of_envs())


@pytest.mark.parametrize("line", [
    "n, turns = env.n_items, env.max_turns",
    "left = branches.turns_left",
    "self._batch = batch",
    "self._rngs = []",
    "from envs.shoe_retrieval import MAX_TOKENS, ShoeRetrievalVectorEnv",
    "import envs",
])
def test_the_scan_passes_the_public_surface(line):
    assert not violations(line, private_names_of_envs())
