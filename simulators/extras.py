"""The optional parts of the install, and the one clear error when a command needs one that is missing.

The core install (`pip install -e .`) is what the environment and the paper's agents need. The rest is
behind extras of pyproject.toml:

- `benchmarks`: the main job, results files, leaderboard and plots (matplotlib, pydantic, stable-baselines3);
- `sb3`: `agents.sb3`, any Stable-Baselines3 algorithm on the env;
- `play`: the web page on which a person plays the shopper, and its load test (fastapi, uvicorn, httpx);
- `faiss`, `resnet`: the faiss index backends and the ResNet-101 backbone;
- `ray`: the main job's grid as Ray tasks (`python -m benchmarks.main --ray`); RLlib (`agents.rllib`) needs
  `ray[rllib]`, which pins its own gymnasium, in a venv of its own (`scripts/test_rllib.sh`);
- `dev`: all of these and the test tools (what `scripts/setup.sh` installs).
"""

from __future__ import annotations


class MissingExtraError(ImportError):
    """A module of an optional extra is not installed; the message names the extra to install."""


def missing_extra(module: str, extra: str, needed_by: str) -> MissingExtraError:
    """The error to raise (`from` the ImportError) when `needed_by` cannot import `module` of the project's `extra`:

        try:
            import fastapi
        except ImportError as err:
            raise missing_extra("fastapi", "play", "the play page") from err
    """
    return MissingExtraError(
        f"{needed_by} needs {module}, which is not installed: pip install 'shoe-retrieval[{extra}]' (in a clone: "
        f"pip install -e '.[{extra}]'; bash scripts/setup.sh installs every extra)")
