"""The fixed evaluation protocol (docs/design.md section 3).

Every item of the split is the target exactly once, dialogs last `max_turns` turns (10 in the
protocol), agents act greedily. The dialogs themselves (each target's first image and the seed of
its user's generator) are frozen: a versioned file per catalog shipped in `benchmarks/frozen/`,
checked against its sha256 on every read, so every agent on every machine faces the same dialogs.
Every result carries PROTOCOL_VERSION; changing a frozen file means bumping it. A catalog built from
a dataset's files (which the package cannot ship dialogs for) gets its dialogs drawn once, on its
first evaluation, and stored beside it in the data home with their checksum (`catalog_dialogs`;
results say "dialogs": "catalog"). For any other catalog or split without a frozen file the dialogs
are drawn from `ProtocolConfig.seed` and the result's protocol reads "<version>-generated". Metrics
at each turn t = 0..T: mean target rank percentile (the paper's Fig. 4) with its 95% bootstrap
interval, Recall@1/10/50 (target in the top K at turn t), cumulative Hits@1/10/50 (in the top K at
some turn up to t; Hits@10 with its interval) and success (target shown by turn t). The paper's
percentile saturates near 97-99%, so the top of the ranking leads: `hits10_auc`, the mean over turns
1..T of cumulative Hits@10, is the one summary number, beside the mean turn of the first top-10 hit
and the share of dialogs that never get there. Once the target has been shown the dialog is over and
counts as rank 0 for the remaining turns. The env's action type is the agent's: read from its
`action_space` (Stable-Baselines3 models) or its `action_type` (`agents.base.Agent`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces

from envs.evaluation import protocol_first_candidates, run_dialogs
from envs.ranking import cumulative_hits, first_hit_turn, rank_percentile
from envs.shoe_retrieval import ACTION_TYPES, ShoeRetrievalVectorEnv
from simulators import registry
from simulators.cache import ArtifactCache, content_hash, write_json
from simulators.catalog.catalog import Catalog
from simulators.datasets import is_file_catalog
from simulators.seeding import make_rng

RECALL_AT = (1, 10, 50)
"""The K of Recall@K and of cumulative Hits@K; Hits@10 is the protocol's headline metric."""

PROTOCOL_VERSION = "1"
"""The protocol's version, in every result; bumped when a frozen dialog file or a rule of the protocol changes."""
FROZEN_DIR = Path(__file__).with_name("frozen")
FROZEN_SHA256 = {
    "protocol-1-synthshoes-99e1afbff6853e02-test.json":  # the full catalog ("full"), world v2
        "08b402b2067b39a7992a421fc58a16fd14ff20da4386a21767cdd02f4df30a9f",
    "protocol-1-synthshoes-79b467a1916cead6-test.json":  # the 64-item test catalog ("tiny"), world v2
        "45411d2cada92182b2c651b33b845bdb97ae1244c4b6827adbc482813b4b759f",
}
"""sha256 of every shipped frozen dialog file: a file that does not match is refused."""


class FrozenDialogsError(ValueError):
    """A frozen dialog file is missing its checksum, fails it, or does not fit the catalog."""


@dataclass(frozen=True)
class FrozenDialogs:
    """The protocol's dialogs for one catalog split: dialog i has target i (a split position), first image
    `first_candidates[i]`, and its user's generator seeded with `user_seeds[i]`."""

    catalog: str
    split: str
    first_candidates: np.ndarray
    user_seeds: np.ndarray
    version: str
    sha256: str
    source: str = "shipped"
    """"shipped" (a file of `benchmarks/frozen/`) or "catalog" (generated for a catalog built from files on its
    first evaluation and stored beside it in the data home)."""


DIALOGS_KIND = "protocol-dialogs"
"""Artifact kind of the dialogs generated for a catalog built from files."""


def frozen_dialogs_path(catalog_name: str, split: str = "test", version: str = PROTOCOL_VERSION) -> Path:
    return FROZEN_DIR / f"protocol-{version}-{catalog_name}-{split}.json"


def load_frozen_dialogs(catalog: Catalog, split: str = "test") -> FrozenDialogs | None:
    """The frozen dialogs of `catalog`'s split: the shipped file verified against FROZEN_SHA256; for a catalog built
    from files (which the package cannot ship dialogs for), the ones generated on its first evaluation and stored
    beside it with their checksum (`catalog_dialogs`); else None (the dialogs are drawn from the protocol seed)."""
    path = frozen_dialogs_path(catalog.name, split)
    if not path.is_file():
        return catalog_dialogs(catalog, split) if is_file_catalog(catalog) else None
    raw = path.read_bytes()
    sha = hashlib.sha256(raw).hexdigest()
    expected = FROZEN_SHA256.get(path.name)
    if not expected:
        raise FrozenDialogsError(f"{path} has no checksum in benchmarks.protocol.FROZEN_SHA256 (sha256 {sha})")
    if sha != expected:
        raise FrozenDialogsError(f"{path} has been changed: sha256 {sha[:16]}..., protocol {PROTOCOL_VERSION} expects "
                                 f"{expected[:16]}...; restore the shipped file, or bump PROTOCOL_VERSION and freeze "
                                 "new dialogs (python -m benchmarks.protocol --freeze)")
    return _parse_dialogs(raw, path, catalog, split, "shipped")


def _dialogs_document(catalog: Catalog, split: str, seed: int) -> dict[str, Any]:
    """First images `protocol_first_candidates(n, seed)`, user seeds seed + i."""
    n = len(catalog.split_ids(split))
    return {"protocol_version": PROTOCOL_VERSION, "catalog": catalog.name, "split": split, "n_items": n,
            "first_candidates": protocol_first_candidates(n, seed).tolist(),
            "user_seeds": (seed + np.arange(n)).tolist()}


def _parse_dialogs(raw: bytes, path: Path, catalog: Catalog, split: str, source: str) -> FrozenDialogs:
    data = json.loads(raw)
    n = len(catalog.split_ids(split))
    first, seeds = np.asarray(data["first_candidates"], np.int64), np.asarray(data["user_seeds"], np.int64)
    if (data.get("protocol_version") != PROTOCOL_VERSION or data.get("catalog") != catalog.name
            or data.get("split") != split or first.shape != (n,) or seeds.shape != (n,)
            or (first == np.arange(n)).any() or first.min() < 0 or first.max() >= n):
        raise FrozenDialogsError(f"{path} does not describe protocol {PROTOCOL_VERSION} dialogs for the {n} {split} "
                                 f"items of {catalog.name}")
    return FrozenDialogs(catalog.name, split, first, seeds, PROTOCOL_VERSION, hashlib.sha256(raw).hexdigest(), source)


def catalog_dialogs(catalog: Catalog, split: str = "test") -> FrozenDialogs:
    """The protocol dialogs of a catalog built from files: drawn once from the protocol's seed 0 as the shipped ones
    were, stored in the catalog's data home as an artifact (its manifest's sha256 checked on every read) and read
    back from there ever after, so later evaluations face the same dialogs even if the drawing rule changes."""
    if catalog.path is None:
        raise ValueError(f"catalog {catalog.name!r} is not stored in a data home, so its dialogs cannot be kept")
    cache = ArtifactCache(catalog.path.parents[1])
    name = frozen_dialogs_path(catalog.name, split).name
    key = {"catalog": catalog.name, "catalog_sha256": content_hash(catalog.path), "split": split,
           "protocol": PROTOCOL_VERSION}

    def write(staging: Path) -> None:
        write_json(_dialogs_document(catalog, split, 0), staging / name)

    art = cache.load_or_build(DIALOGS_KIND, key, write, on_corrupt="raise")
    return _parse_dialogs(art.file(name).read_bytes(), art.file(name), catalog, split, "catalog")


def freeze_dialogs(catalog: Catalog, split: str = "test", seed: int = 0) -> tuple[Path, str]:
    """Write the frozen dialog file of a catalog split (a maintainer's step; paste its sha256 into FROZEN_SHA256)."""
    path = frozen_dialogs_path(catalog.name, split)
    write_json(_dialogs_document(catalog, split, seed), path)
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class ProtocolConfig:
    split: str = "test"
    """Split whose every item is the target once."""
    max_turns: int = 10
    """Dialog length at evaluation (the paper plots 10 turns)."""
    seed: int = 0
    """Seeds the first candidates and the users' randomness."""
    num_envs: int = 256
    """Dialogs run side by side (does not change the results)."""
    bootstrap: int = 1000
    """Bootstrap resamples for the 95% confidence intervals."""


@dataclass
class EvalResult:
    """Per-turn metrics of one agent with one user; index t of each list is turn t (0 = the first image)."""

    agent: str
    user: str
    episodes: int
    mean_rank_percentile: list[float]
    ci95: list[tuple[float, float]]
    recall: dict[str, list[float]]
    success: list[float]
    seconds: float
    config: dict[str, Any] = field(default_factory=dict)
    protocol: str = PROTOCOL_VERSION
    """The protocol version the dialogs came from ("<version>-generated" when not frozen)."""
    hits: dict[str, list[float]] | None = None
    """Cumulative Hits@K per turn, keyed "@1", "@10", "@50": share of dialogs whose target has been in the
    top K at some turn up to t. None in this and the fields below: not measured (older results)."""
    hits10_ci95: list[tuple[float, float]] | None = None
    """95% bootstrap interval of cumulative Hits@10 per turn."""
    hits10_auc: float | None = None
    """Mean over turns 1..T of cumulative Hits@10: the protocol's one summary number."""
    hits10_auc_ci95: tuple[float, float] | None = None
    first_hit10_mean_turn: float | None = None
    """Mean first turn in the top 10 among dialogs that get there (None: none does); the share of dialogs
    first in the top 10 at turn t is hits["@10"][t] - hits["@10"][t - 1]."""
    never_hit10: float | None = None
    """Share of dialogs whose target is never in the top 10 within T turns."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def action_type_of(agent: Any) -> str:
    """The env action type `agent` emits: from its `action_space` if it has one (SB3 models), else its `action_type`.

    `Box` of shape (D,) is "query", `Discrete(N)` is "candidate", and a `Dict` of exactly those two
    under the keys "query" and "candidate" is "query_and_candidate" (the env's three action spaces).
    """
    name = type(agent).__name__
    declared = getattr(agent, "action_type", None)
    space = getattr(agent, "action_space", None)
    if space is None:
        if declared is None:
            raise ValueError(f"{name} has neither an `action_space` nor an `action_type`, so the env action type "
                             f"to evaluate it with is unknown; give it one (action_type in {ACTION_TYPES})")
        if declared not in ACTION_TYPES:
            raise ValueError(f"{name}.action_type must be one of {ACTION_TYPES}, got {declared!r}")
        return declared
    if isinstance(space, spaces.Box) and len(space.shape) == 1:
        from_space = "query"
    elif isinstance(space, spaces.Discrete):
        from_space = "candidate"
    elif (isinstance(space, spaces.Dict) and set(space.spaces) == {"query", "candidate"}
          and isinstance(space["query"], spaces.Box) and isinstance(space["candidate"], spaces.Discrete)):
        from_space = "query_and_candidate"
    else:
        raise ValueError(f"{name}.action_space {space} is none of the env's action spaces: Box((D,)) for "
                         "'query', Discrete(N) for 'candidate', Dict(query=Box, candidate=Discrete) for "
                         "'query_and_candidate'")
    if declared is not None and declared != from_space:
        raise ValueError(f"{name}.action_type is {declared!r} but its action_space {space} is {from_space!r}")
    return from_space


def evaluate(agent: Any, catalog: Catalog, user: Any, config: ProtocolConfig = ProtocolConfig(),
             agent_name: str | None = None, user_name: str | None = None, device: str = "auto",
             vocabulary: Any = None, progress: bool = True) -> EvalResult:
    """Run the protocol for `agent` against `user`.

    `agent` is anything with SB3's `predict` and either an `action_space` or an `action_type` (see
    `action_type_of`). An agent's spaces must fit the split's env: a model trained on another split
    or with other `max_turns` is refused with a ValueError rather than evaluated on the wrong items.
    """
    t0 = time.perf_counter()
    action_type = action_type_of(agent)
    n_items = len(catalog.split_ids(config.split))
    targets = np.arange(n_items)
    frozen = load_frozen_dialogs(catalog, config.split)
    if frozen is not None:
        first, seeds, protocol = frozen.first_candidates, frozen.user_seeds, frozen.version
    else:
        first, seeds = protocol_first_candidates(n_items, config.seed), config.seed
        protocol = f"{PROTOCOL_VERSION}-generated"
    num_envs = min(config.num_envs, n_items)
    env = ShoeRetrievalVectorEnv(num_envs=num_envs, catalog=catalog, split=config.split, user=user,
                                 action_type=action_type, max_turns=config.max_turns, device=device,
                                 vocabulary=vocabulary)
    try:
        _check_spaces(agent, env, config)
        ranks = run_dialogs(agent, env, targets, first, seeds, config.max_turns, progress=progress,
                            desc=f"eval {agent_name or type(agent).__name__}")
    finally:
        env.close()
    return EvalResult(agent=agent_name or type(agent).__name__,
                      user=user_name or (user if isinstance(user, str) else type(user).__name__),
                      episodes=n_items, **metrics_from_ranks(ranks, n_items, config),
                      seconds=round(time.perf_counter() - t0, 2), config=asdict(config), protocol=protocol)


def metrics_from_ranks(ranks: np.ndarray, n_items: int, config: ProtocolConfig = ProtocolConfig()) -> dict[str, Any]:
    """Every metric field of EvalResult from the (dialogs, T + 1) target ranks of a split of `n_items` items.

    Intervals resample dialogs (`config.bootstrap` times, seeded by `config.seed`); every interval uses
    the same resamples. The top-of-ranking metrics are those of `envs.ranking`, the one definition.
    """
    ranks = np.asarray(ranks)
    percentile = rank_percentile(ranks, n_items)  # (dialogs, T + 1)
    hits = {f"@{k}": cumulative_hits(ranks, k) for k in RECALL_AT}  # each (dialogs, T + 1) bool
    hits10 = hits["@10"].astype(np.float64)
    auc = hits10[:, 1:].mean(axis=1, keepdims=True)  # (dialogs, 1): each dialog's share of turns 1..T in the top 10
    ci = bootstrap_ci(percentile, config.bootstrap, config.seed)
    hits_ci = bootstrap_ci(np.concatenate([hits10, auc], axis=1), config.bootstrap, config.seed)  # (T + 2, 2)
    hits_means = {key: [float(v) for v in h.mean(axis=0)] for key, h in hits.items()}
    first = first_hit_turn(ranks, 10)
    reached = first >= 0
    return {"mean_rank_percentile": [float(m) for m in percentile.mean(axis=0)],
            "ci95": [(float(lo), float(hi)) for lo, hi in ci],
            "recall": {f"@{k}": [float(v) for v in (ranks < k).mean(axis=0)] for k in RECALL_AT},
            "success": [float(v) for v in (ranks == 0).mean(axis=0)],
            "hits": hits_means,
            "hits10_ci95": [(float(lo), float(hi)) for lo, hi in hits_ci[:-1]],
            "hits10_auc": float(np.mean(hits_means["@10"][1:])),
            "hits10_auc_ci95": (float(hits_ci[-1, 0]), float(hits_ci[-1, 1])),
            "first_hit10_mean_turn": float(first[reached].mean()) if reached.any() else None,
            "never_hit10": float(1.0 - reached.mean())}


def _check_spaces(agent: Any, env: ShoeRetrievalVectorEnv, config: ProtocolConfig) -> None:
    """ValueError unless the agent's spaces (where it has them) have the layout of the env's.

    Layout, not bounds: a Discrete must have as many items, a Box the same shape. The query bound
    differs between splits and is no reason to refuse a model; a different number of items is.
    """
    name = type(agent).__name__
    for attr, env_space in (("action_space", env.single_action_space),
                            ("observation_space", env.single_observation_space)):
        space = getattr(agent, attr, None)
        if space is None:
            continue
        where = _layout_mismatch(space, env_space, attr)
        if where is not None:
            raise ValueError(f"{name}.{attr} does not fit the env of the protocol ({config.split!r} split, "
                             f"max_turns={config.max_turns}): {where}. A model is evaluated on an env like the one "
                             "it was trained on: same split, same max_turns.")


def _layout_mismatch(space: spaces.Space, env_space: spaces.Space, path: str) -> str | None:
    """Where `space` differs in layout from `env_space` ("path: agent's vs env's"), or None."""
    if isinstance(space, spaces.Dict) and isinstance(env_space, spaces.Dict):
        if set(space.spaces) != set(env_space.spaces):
            return f"{path} has keys {sorted(space.spaces)}, the env's has {sorted(env_space.spaces)}"
        for key in env_space.spaces:
            where = _layout_mismatch(space[key], env_space[key], f"{path}[{key!r}]")
            if where is not None:
                return where
        return None
    if isinstance(space, spaces.Discrete) and isinstance(env_space, spaces.Discrete):
        same = space.n == env_space.n and space.start == env_space.start
    elif isinstance(space, spaces.Box) and isinstance(env_space, spaces.Box):
        same = space.shape == env_space.shape
    else:
        same = space == env_space
    return None if same else f"{path} is {space}, the env's is {env_space}"


def bootstrap_ci(values: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """(T, 2) percentile-bootstrap 95% interval of the per-turn mean over episodes."""
    rng = make_rng(seed, "protocol", "bootstrap")
    n = len(values)
    means = np.empty((resamples, values.shape[1]))
    for r in range(resamples):
        means[r] = values[rng.integers(0, n, size=n)].mean(axis=0)
    return np.percentile(means, [2.5, 97.5], axis=0).T


def format_table(results: list[EvalResult], turns: tuple[int, ...] | None = None,
                 metric: str = "rank_percentile") -> str:
    """One row per (agent, user): mean rank percentile per turn, or cumulative Hits@10 (`metric="hits10"`).

    A result without Hits@10 (older results) shows "n/a" in the Hits@10 view.
    """
    if metric not in ("rank_percentile", "hits10"):
        raise ValueError(f"metric must be 'rank_percentile' or 'hits10', got {metric!r}")
    if not results:
        return "(no results)"
    t_max = len(results[0].mean_rank_percentile) - 1
    turns = turns or tuple(range(t_max + 1))
    head = f"{'agent':<24} {'user':<14}" + "".join(f" {'t=' + str(t):>7}" for t in turns)
    lines = [head, "-" * len(head)]
    for r in results:
        values = r.mean_rank_percentile if metric == "rank_percentile" else (r.hits or {}).get("@10")
        cells = "".join(f" {100 * values[t]:>6.1f}%" if values else f" {'n/a':>7}" for t in turns)
        lines.append(f"{r.agent:<24} {r.user:<14}{cells}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Maintainer's command: `python -m benchmarks.protocol --freeze --catalog full` writes a frozen dialog file."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--freeze", action="store_true", help="write the frozen dialogs of the catalog's split")
    parser.add_argument("--catalog", default="full")
    parser.add_argument("--split", default="test")
    args = parser.parse_args(argv)
    if not args.freeze:
        parser.error("nothing to do: pass --freeze")
    path, sha = freeze_dialogs(registry.load_catalog(args.catalog), args.split)
    print(f"wrote {path}\nsha256 {sha}: add it to FROZEN_SHA256 in benchmarks/protocol.py")


if __name__ == "__main__":
    main()
