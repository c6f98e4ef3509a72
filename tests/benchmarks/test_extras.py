"""A command that needs an optional extra which is not installed says which extra to install."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from simulators.extras import MissingExtraError


@pytest.mark.parametrize(("module", "missing", "extra"), [
    ("benchmarks.play.app", "fastapi", "play"),
    ("benchmarks.play.load", "httpx", "play"),
    ("benchmarks.results", "pydantic", "benchmarks"),
    ("benchmarks.plots", "matplotlib", "benchmarks"),
    ("agents.sb3", "stable_baselines3", "sb3"),
])
def test_missing_extra_names_the_extra(monkeypatch: pytest.MonkeyPatch, module: str, missing: str, extra: str) -> None:
    importlib.import_module(module)  # installed here: importable
    monkeypatch.setitem(sys.modules, missing, None)  # as if not installed: importing it raises ImportError
    monkeypatch.delitem(sys.modules, module)
    with pytest.raises(MissingExtraError, match=rf"pip install 'shoe-retrieval\[{extra}\]'"):
        importlib.import_module(module)


def test_core_install_runs_the_env_and_the_papers_agents_without_extras() -> None:
    """The core dependencies are enough for the environment, the users and the paper's agents."""
    blocked = ["matplotlib", "pydantic", "stable_baselines3", "fastapi", "uvicorn", "httpx", "faiss"]
    code = ("import sys\n"
            f"sys.modules.update(dict.fromkeys({blocked!r}))\n"
            "import envs, simulators.build, simulators.users, simulators.captioner\n"
            "import agents.triplet_sl, agents.scst, agents.policy_improvement, agents.whittlesearch, agents.rocchio\n"
            "import agents.baselines, agents.index\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
