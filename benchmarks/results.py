"""One results file per (agent, training seed, user) run of the protocol: a schema, validated on write and on read.

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

Schema 2 adds the top-of-ranking metrics (cumulative Hits@K per turn, the Hits@10 interval and AUC,
the first top-10 turn); schema-1 files are still read, with those fields None, but not reused by
`reusable_result`, so the main job evaluates them again. Any other schema version is refused. The agent's
training seed (`AgentInfo.seed`) is optional: a file without it counts as the seed its job ran with
(`RunResult.seed`), so files from before seeds were recorded still group on the leaderboard.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sys
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from simulators.extras import missing_extra

try:
    from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
except ImportError as err:
    raise missing_extra("pydantic", "benchmarks", "the results files (benchmarks.results)") from err

from benchmarks.machine import cpu_model
from benchmarks.protocol import PROTOCOL_VERSION, EvalResult, load_frozen_dialogs
from simulators import registry
from simulators.cache import content_hash, write_json
from simulators.catalog.catalog import Catalog

SCHEMA_VERSION = 2
SCHEMA_VERSIONS = (1, 2)
"""The schema versions `read_result` reads (1: without the Hits@K metrics)."""
HITS10_FIELDS = ("hits", "hits10_ci95", "hits10_auc", "hits10_auc_ci95", "never_hit10")
"""The Metrics fields schema 2 requires and schema 1 lacks (first_hit10_mean_turn is None when no dialog hits)."""
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
    seed: int | None = Field(default=None, ge=0)
    """The training seed of a learned agent (None: nothing learned, or a file from before seeds were recorded;
    `RunResult.seed` reads those)."""


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
    hits: dict[str, list[float]] | None = None
    """Cumulative Hits@K per turn, keyed like recall (must hold "@10"); None in this and the fields below:
    a schema-1 file."""
    hits10_ci95: list[tuple[float, float]] | None = None
    hits10_auc: float | None = None
    """Mean over turns 1..T of cumulative Hits@10."""
    hits10_auc_ci95: tuple[float, float] | None = None
    first_hit10_mean_turn: float | None = Field(default=None, ge=0)
    """Mean first top-10 turn among dialogs that reach the top 10 (None: none does)."""
    never_hit10: float | None = None
    """Share of dialogs never in the top 10."""

    @model_validator(mode="after")
    def _same_length(self) -> Metrics:
        turns = len(self.mean_rank_percentile)
        hits = self.hits or {}
        lists = [self.ci95, self.success, *self.recall.values(), *hits.values(),
                 self.ci95 if self.hits10_ci95 is None else self.hits10_ci95]
        if any(len(values) != turns for values in lists):
            raise ValueError("every per-turn list must have one value per turn")
        if self.hits is not None and "@10" not in self.hits:
            raise ValueError('hits must hold cumulative Hits@10 under "@10"')
        if any(b < a for h in hits.values() for a, b in zip(h[:-1], h[1:], strict=True)):
            raise ValueError("cumulative Hits@K never falls from one turn to the next")
        if self.first_hit10_mean_turn is not None and self.first_hit10_mean_turn > turns - 1:
            raise ValueError(f"first_hit10_mean_turn must be a turn in 0..{turns - 1}")
        pairs = [*self.ci95, *(self.hits10_ci95 or []), self.hits10_auc_ci95 or (0.0, 0.0)]
        values = [*self.mean_rank_percentile, *self.success, *(v for r in self.recall.values() for v in r),
                  *(v for h in hits.values() for v in h), *(v for pair in pairs for v in pair),
                  self.hits10_auc or 0.0, self.never_hit10 or 0.0]
        if any(not 0.0 <= v <= 1.0 for v in values):
            raise ValueError("metrics are fractions in [0, 1]")
        return self

    @property
    def has_hits10(self) -> bool:
        """Whether the file holds the top-of-ranking metrics (schema 2 on)."""
        return self.hits is not None


class Machine(_Strict):
    packages: dict[str, str]
    python: str
    device: str
    cpu: str
    cores: int


class RunResult(_Strict):
    schema_version: Literal[1, 2] = SCHEMA_VERSION
    """Schema 1 lacks the Hits@K metrics; schema 2 requires them."""
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

    @model_validator(mode="after")
    def _fields_of_schema(self) -> RunResult:
        present = [name for name in HITS10_FIELDS if getattr(self.metrics, name) is not None]
        if self.schema_version >= 2 and len(present) < len(HITS10_FIELDS):
            missing = sorted(set(HITS10_FIELDS) - set(present))
            raise ValueError(f"schema {self.schema_version} metrics need {', '.join(missing)}")
        if self.schema_version == 1 and (present or self.metrics.first_hit10_mean_turn is not None):
            raise ValueError(f"schema-1 metrics have no {', '.join(present) or 'first_hit10_mean_turn'}; "
                             f"a file with them is schema {SCHEMA_VERSION}")
        return self

    @property
    def seed(self) -> int:
        """The training seed: the agent's, else (a file from before seeds were recorded, or an agent that learned
        nothing) the seed its job ran with, which the main job gave the protocol too (0 if none is recorded)."""
        if self.agent.seed is not None:
            return self.agent.seed
        seed = self.seeds.get("bootstrap_seed")
        return seed if isinstance(seed, int) and not isinstance(seed, bool) else 0


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
    seeds = ({"dialogs": "frozen" if frozen.source == "shipped" else frozen.source, "file_sha256": frozen.sha256}
             if frozen is not None and evaluation.protocol == frozen.version
             else {"dialogs": "generated", "seed": evaluation.config.get("seed")})
    seeds["bootstrap_seed"] = evaluation.config.get("seed")
    return RunResult(
        protocol_version=evaluation.protocol,
        catalog=CatalogInfo(name=catalog.name, content_hash=content_hash(catalog.path) if catalog.path else None),
        agent=agent, user=UserInfo(name=user_name, fingerprint=registry.user_fingerprint(user)),
        split=evaluation.config.get("split", "test"), max_turns=len(evaluation.mean_rank_percentile) - 1,
        seeds=seeds,
        metrics=Metrics(episodes=evaluation.episodes, mean_rank_percentile=evaluation.mean_rank_percentile,
                        ci95=evaluation.ci95, recall=evaluation.recall, success=evaluation.success,
                        hits=evaluation.hits, hits10_ci95=evaluation.hits10_ci95, hits10_auc=evaluation.hits10_auc,
                        hits10_auc_ci95=evaluation.hits10_auc_ci95,
                        first_hit10_mean_turn=evaluation.first_hit10_mean_turn, never_hit10=evaluation.never_hit10),
        eval_seconds=evaluation.seconds,
        machine=Machine(packages=_packages(), python=sys.version.split()[0], device=str(device), cpu=cpu_model(),
                        cores=os.cpu_count() or 1),
        created_utc=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))


def result_path(folder: str | Path, name: str, user_name: str, seed: int | None = None) -> Path:
    """Where a results file lives: `<folder>/<name as a slug>-s<seed>--<user>.json`, one file per agent, training
    seed and user (`<name as a slug>--<user>.json` for an agent without a training seed, as before seeds)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return Path(folder) / (f"{slug}--{user_name}.json" if seed is None else f"{slug}-s{seed}--{user_name}.json")


def write_result(result: RunResult, path: str | Path) -> Path:
    """Validate and write atomically."""
    RunResult.model_validate(result.model_dump())
    return write_json(result.model_dump(mode="json"), path)


def read_result(path: str | Path, protocol_version: str | None = PROTOCOL_VERSION) -> RunResult:
    """Read and validate a results file of a schema in SCHEMA_VERSIONS; a file of another protocol version is
    refused (None: accept any)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ResultsFileError(f"cannot read results file {path}: {err}") from None
    if not isinstance(data, dict):
        raise ResultsFileError(f"{path} is not a results file: it holds a JSON {type(data).__name__}, not an object")
    schema = data.get("schema_version")
    if schema not in SCHEMA_VERSIONS or isinstance(schema, bool):
        raise ResultsFileError(f"{path} has results schema {schema!r}; this version of benchmarks.results reads "
                               f"schemas {', '.join(map(str, SCHEMA_VERSIONS))} (a newer file needs a newer "
                               "shoe-retrieval; an older one: re-evaluate the agent)")
    try:
        result = RunResult.model_validate(data)
    except ValidationError as err:
        raise ResultsFileError(f"{path} is not a valid results file (schema {schema}):\n{err}") from None
    if protocol_version is not None and result.protocol_version != protocol_version:
        raise ResultsFileError(f"{path} comes from protocol {result.protocol_version!r}, not {protocol_version!r}: "
                               "results of different protocols are not comparable; re-evaluate the agent")
    return result


def as_eval_result(result: RunResult) -> EvalResult:
    """The EvalResult view of a results file (for the plots); the Hits@K fields are None for a schema-1 file."""
    m = result.metrics
    return EvalResult(agent=result.agent.name, user=result.user.name, episodes=m.episodes,
                      mean_rank_percentile=list(m.mean_rank_percentile), ci95=[tuple(c) for c in m.ci95],
                      recall={k: list(v) for k, v in m.recall.items()}, success=list(m.success),
                      seconds=result.eval_seconds, protocol=result.protocol_version,
                      hits=None if m.hits is None else {k: list(v) for k, v in m.hits.items()},
                      hits10_ci95=None if m.hits10_ci95 is None else [tuple(c) for c in m.hits10_ci95],
                      hits10_auc=m.hits10_auc, hits10_auc_ci95=m.hits10_auc_ci95,
                      first_hit10_mean_turn=m.first_hit10_mean_turn, never_hit10=m.never_hit10)


def reusable_result(path: str | Path, agent: AgentInfo, user_fingerprint: str,
                    catalog_hash: str | None) -> RunResult | None:
    """The results file at `path` if it is valid, of this protocol and schema, and was made from the same agent
    (name and checkpoint), user and catalog; else None (the caller evaluates again)."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        result = read_result(path)
    except ResultsFileError as err:
        print(f"   (evaluating again: {err})")
        return None
    if result.schema_version != SCHEMA_VERSION:
        print(f"   (evaluating again: {path} is schema {result.schema_version}, without the Hits@10 metrics)")
        return None
    same = (result.agent.checkpoint_sha256 == agent.checkpoint_sha256 and result.agent.name == agent.name
            and result.agent.seed == agent.seed and result.user.fingerprint == user_fingerprint
            and result.catalog.content_hash == catalog_hash)
    return result if same else None
