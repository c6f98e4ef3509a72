"""The README's two plug-in recipes, run as written (on the tiny catalog, with a short PPO)."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def recipe(name: str) -> str:
    match = re.search(rf"<!-- recipe: {name} -->\s*```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert match, f"README has no recipe {name!r}"
    code = match.group(1)
    assert 'CATALOG = "full"' in code
    code = code.replace('CATALOG = "full"', 'CATALOG = "tiny"')
    return re.sub(r"STEPS = [\d_]+", "STEPS = 256", code).replace("num_envs=256", "num_envs=8")


@pytest.mark.parametrize("name", ["sb3", "own-agent"])
def test_readme_recipe_runs(name, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    exec(compile(recipe(name), f"README recipe {name}", "exec"), {"__name__": "__recipe__"})
    out = capsys.readouterr().out
    if name == "sb3":
        assert "| my PPO |" in out and (tmp_path / "results/mine/rank_curves.png").exists()
        assert (tmp_path / "runs/my-ppo/checkpoint/policy.safetensors").exists()
    else:
        assert "running mean" in out
