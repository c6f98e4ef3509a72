"""One results file per (agent, user) run of the protocol: a schema, validated on write and on read.

    agent = AgentInfo(name="my agent", feedback="natural language")
    result = make_result(evaluation, catalog, agent, user, "captioner", device="cpu")
    write_result(result, "results/runs/my-agent--captioner.json")
    result = read_result("results/runs/my-agent--captioner.json")   # refuses another protocol version

A file says what was evaluated (the agent's name, the sha256 of its checkpoint, how and with which
user it was trained, the training profile and minutes), against what (the user's name and the
fingerprint of what it speaks from, the catalog's name and content hash, the protocol version), the
per-turn metrics with 95% intervals, the seeds, and where it ran (package versions, device,
machine). `python -m benchmarks.leaderboard results/runs/*.json` turns a set of them into the
leaderboard.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from benchmarks.protocol import PROTOCOL_VERSION, EvalResult, load_frozen_dialogs
from benchmarks.throughput import cpu_model
from simulators import registry
from simulators.cache import content_hash, write_json
from simulators.catalog.catalog import Catalog

SCHEMA_VERSION = 1
FEEDBACK = ("natural language", "relative attributes", "relevance", "none")
"""The feedback channel an agent reads: how the leaderboard's figure groups its curves."""
PACKAGES = ("shoe-retrieval", "torch", "numpy", "gymnasium", "stable-baselines3", "pydantic")


class ResultsFileError(ValueError):
    """A results file that is unreadable, does not fit the schema, or comes from another protocol version."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AgentInfo(_Strict):
    name: str = Field(min_length=1, max_length=200)
    """The name on the leaderboard."""
    feedback: Literal["natural language", "relative attributes", "relevance", "none"]
    """The feedback channel the agent reads ("none": it ignores the feedback)."""
    checkpoint_sha256: str | None = None
    """Content hash of the checkpoint evaluated (None: nothing learned)."""
    method: str | None = None
    """How it was trained (e.g. "triplet_sl", "policy_improvement", "ppo")."""
    train_user: str | None = None
    """The user it was trained with."""
    profile: Literal["quick", "paper"] | None = None
    """The main job's training profile; "quick" results are marked as such on the leaderboard."""
    train_minutes: float | None = Field(default=None, ge=0)


class UserInfo(_Strict):
    name: str = Field(min_length=1)
    fingerprint: str = Field(min_length=1)
    """What the user's answers rest on (`simulators.registry.user_fingerprint`)."""


class CatalogInfo(_Strict):
    name: str
    content_hash: str | None
    """`simulators.cache.content_hash` of the catalog artifact (None for a catalog built in memory)."""


class Metrics(_Strict):
    episodes: int = Field(gt=0)
    mean_rank_percentile: list[float] = Field(min_length=2)
    """Index t is turn t (0: the first image)."""
    ci95: list[tuple[float, float]]
    recall: dict[str, list[float]]
    """Recall@K per turn, keyed "@1", "@10", "@50"."""
    success: list[float]
    """Share of dialogs whose target was shown by turn t."""

    @model_validator(mode="after")
    def _same_length(self) -> Metrics:
        turns = len(self.mean_rank_percentile)
        lists = [self.ci95, self.success, *self.recall.values()]
        if any(len(values) != turns for values in lists):
            raise ValueError("every per-turn list must have one value per turn")
        values = [*self.mean_rank_percentile, *self.success, *(v for r in self.recall.values() for v in r),
                  *(v for pair in self.ci95 for v in pair)]
        if any(not 0.0 <= v <= 1.0 for v in values):
            raise ValueError("metrics are fractions in [0, 1]")
        return self


class Machine(_Strict):
    packages: dict[str, str]
    python: str
    device: str
    cpu: str
    cores: int


class RunResult(_Strict):
    schema_version: Literal[1] = SCHEMA_VERSION
    protocol_version: str
    """`benchmarks.protocol.PROTOCOL_VERSION` of the dialogs ("<v>-generated": not the frozen dialogs)."""
    catalog: CatalogInfo
    agent: AgentInfo
    user: UserInfo
    split: str
    max_turns: int = Field(gt=0)
    seeds: dict[str, Any]
    """Where the dialogs' randomness came from: the frozen file's sha256, or the protocol seed."""
    metrics: Metrics
    eval_seconds: float = Field(ge=0)
    machine: Machine
    created_utc: str


def _packages() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def make_result(evaluation: EvalResult, catalog: Catalog, agent: AgentInfo, user: Any, user_name: str,
                device: str) -> RunResult:
    """A validated RunResult from a protocol evaluation and what was evaluated."""
    frozen = load_frozen_dialogs(catalog, evaluation.config.get("split", "test"))
    seeds = ({"dialogs": "frozen", "file_sha256": frozen.sha256} if frozen is not None and
             evaluation.protocol == frozen.version else {"dialogs": "generated", "seed": evaluation.config.get("seed")})
    seeds["bootstrap_seed"] = evaluation.config.get("seed")
    return RunResult(
        protocol_version=evaluation.protocol,
        catalog=CatalogInfo(name=catalog.name, content_hash=content_hash(catalog.path) if catalog.path else None),
        agent=agent, user=UserInfo(name=user_name, fingerprint=registry.user_fingerprint(user)),
        split=evaluation.config.get("split", "test"), max_turns=len(evaluation.mean_rank_percentile) - 1,
        seeds=seeds,
        metrics=Metrics(episodes=evaluation.episodes, mean_rank_percentile=evaluation.mean_rank_percentile,
                        ci95=evaluation.ci95, recall=evaluation.recall, success=evaluation.success),
        eval_seconds=evaluation.seconds,
        machine=Machine(packages=_packages(), python=sys.version.split()[0], device=str(device), cpu=cpu_model(),
                        cores=os.cpu_count() or 1),
        created_utc=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))


def write_result(result: RunResult, path: str | Path) -> Path:
    """Validate and write atomically."""
    RunResult.model_validate(result.model_dump())
    return write_json(result.model_dump(mode="json"), path)


def read_result(path: str | Path, protocol_version: str | None = PROTOCOL_VERSION) -> RunResult:
    """Read and validate a results file; a file of another protocol version is refused (None: accept any)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ResultsFileError(f"cannot read results file {path}: {err}") from None
    try:
        result = RunResult.model_validate(data)
    except ValidationError as err:
        raise ResultsFileError(f"{path} is not a valid results file (schema {SCHEMA_VERSION}):\n{err}") from None
    if protocol_version is not None and result.protocol_version != protocol_version:
        raise ResultsFileError(f"{path} comes from protocol {result.protocol_version!r}, not {protocol_version!r}: "
                               "results of different protocols are not comparable; re-evaluate the agent")
    return result


def as_eval_result(result: RunResult) -> EvalResult:
    """The EvalResult view of a results file (for the plots)."""
    m = result.metrics
    return EvalResult(agent=result.agent.name, user=result.user.name, episodes=m.episodes,
                      mean_rank_percentile=list(m.mean_rank_percentile), ci95=[tuple(c) for c in m.ci95],
                      recall={k: list(v) for k, v in m.recall.items()}, success=list(m.success),
                      seconds=result.eval_seconds, protocol=result.protocol_version)


def reusable_result(path: str | Path, agent: AgentInfo, user_fingerprint: str,
                    catalog_hash: str | None) -> RunResult | None:
    """The results file at `path` if it is valid, of this protocol, and was made from the same agent (name and
    checkpoint), user and catalog; else None (the caller evaluates again)."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        result = read_result(path)
    except ResultsFileError as err:
        print(f"   (evaluating again: {err})")
        return None
    same = (result.agent.checkpoint_sha256 == agent.checkpoint_sha256 and result.agent.name == agent.name
            and result.user.fingerprint == user_fingerprint and result.catalog.content_hash == catalog_hash)
    return result if same else None
