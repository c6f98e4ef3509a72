"""ShoeRetrieval-v0: dialog-based interactive image retrieval (Guo et al., NeurIPS 2018) as a Gymnasium env.

The env and its native vector version share one turn loop, `DialogBatch`, which runs B dialogs at
once: one batched ranking and one batched user call per step. The single env is that loop with
B = 1, so the two give the same trajectories for the same seeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from envs.ranking import Ranker, rank_percentile, resolve_device
from simulators import registry
from simulators.catalog.catalog import Catalog, CatalogConfig
from simulators.language.vocab import Vocabulary
from simulators.users import User

ACTION_TYPES = ("query", "candidate", "query_and_candidate")
MAX_TOKENS = 16
RESET_OPTIONS = ("target", "first_candidate")


@dataclass(frozen=True)
class WhatIf:
    """The answer to "what would happen if I showed these images now" (see ShoeRetrievalEnv.what_if)."""

    candidates: np.ndarray
    """(K,) the hypothetical images (positions in the split)."""
    feedback_text: list[str]
    """What the user would say about each image."""
    feedback: np.ndarray
    """(K, 16) the same feedback as token ids."""
    rank: np.ndarray
    """(K,) rank of the target under each hypothetical query."""
    rank_percentile: np.ndarray
    """(K,) the reward each hypothetical step would earn."""
    terminated: np.ndarray
    """(K,) whether showing the image would end the dialog (it is the target)."""


class DialogBatch:
    """B dialogs over one catalog split, advanced together: the turn loop of env and vector env."""

    def __init__(self, catalog: Catalog, split: str, user: User, vocabulary: Vocabulary, action_type: str,
                 max_turns: int, device: torch.device, num_dialogs: int, privileged: bool):
        self.catalog = catalog
        self.item_ids = catalog.split_ids(split)  # position in split -> catalog index
        self.n = len(self.item_ids)
        if self.n < 2:
            raise ValueError(f"the {split!r} split needs at least 2 items, it has {self.n}")
        self.features = np.ascontiguousarray(catalog.features[self.item_ids], dtype=np.float32)
        self.dim = self.features.shape[1]
        self.ranker = Ranker(self.features, device)
        self.user, self.vocabulary = user, vocabulary
        self.action_type, self.max_turns, self.privileged = action_type, max_turns, privileged
        self.query_bound = float(np.ceil(np.abs(self.features).max() * 2.0)) if self.n else 1.0
        self._allocate(num_dialogs)

    def _allocate(self, b: int) -> None:
        """Per-dialog state for `b` dialogs (everything else is shared with forks)."""
        self.target = np.zeros(b, dtype=np.int64)
        self.candidate = np.zeros(b, dtype=np.int64)
        self.turn = np.zeros(b, dtype=np.int64)
        self.rank = np.zeros(b, dtype=np.int64)
        self.percentile = np.zeros(b, dtype=np.float32)
        self.tokens = np.zeros((b, MAX_TOKENS), dtype=np.int64)
        self.text: list[str] = [""] * b
        self.shown = torch.zeros((b, self.n), dtype=torch.bool, device=self.ranker.device)
        # The same set as indices, padded with each row's first image: cheap to exclude from the argmin.
        self.shown_idx = torch.zeros((b, 8), dtype=torch.long, device=self.ranker.device)
        self.n_shown = np.zeros(b, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.target)

    # ---- validation (never mutates state) -----------------------------------------------------
    def check_options(self, options: dict | None) -> tuple[int | None, int | None]:
        options = options or {}
        if not isinstance(options, dict):
            raise ValueError(f"options must be a dict, got {type(options).__name__}")
        unknown = sorted(set(options) - set(RESET_OPTIONS))
        if unknown:
            raise ValueError(f"unknown reset option(s) {unknown}; known options are {list(RESET_OPTIONS)}")
        target = self._check_index(options.get("target"), "options['target']")
        first = self._check_index(options.get("first_candidate"), "options['first_candidate']")
        if target is not None and first is not None and target == first:
            raise ValueError("options['first_candidate'] must differ from options['target']")
        return target, first

    def _check_index(self, value: Any, what: str) -> int | None:
        if value is None:
            return None
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            if isinstance(value, np.ndarray) and value.shape == () and np.issubdtype(value.dtype, np.integer):
                value = int(value)
            else:
                raise ValueError(f"{what} must be an integer item index, got {value!r}")
        if not 0 <= int(value) < self.n:
            raise ValueError(f"{what}={int(value)} is out of range: the split has items 0..{self.n - 1}")
        return int(value)

    def _check_query(self, value: Any, what: str, rows: int | None) -> np.ndarray:
        try:
            q = np.asarray(value, dtype=np.float32)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{what} must be a float vector of length {self.dim}: {err}") from None
        expected = (self.dim,) if rows is None else (rows, self.dim)
        if q.shape != expected:
            raise ValueError(f"{what} has shape {q.shape}, expected {expected}")
        if not np.isfinite(q).all():
            raise ValueError(f"{what} contains NaN or infinite values")
        return q

    def parse_actions(self, actions: Any, batched: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """(queries (B, D), chosen positions (B,) or None for pure query actions); ValueError if invalid."""
        b = len(self.target) if batched else None
        if self.action_type == "query":
            return self._check_query(actions, "query action", b).reshape(-1, self.dim), None
        if self.action_type == "candidate":
            chosen = self._check_indices(actions, "candidate action", b)
            return self.features[chosen], chosen
        if not isinstance(actions, dict) or set(actions) != {"query", "candidate"}:
            raise ValueError("a query_and_candidate action must be a dict with exactly the keys 'query' and "
                             f"'candidate', got {actions!r:.200}")
        queries = self._check_query(actions["query"], "action['query']", b).reshape(-1, self.dim)
        return queries, self._check_indices(actions["candidate"], "action['candidate']", b)

    def _check_indices(self, value: Any, what: str, rows: int | None) -> np.ndarray:
        if rows is None:
            return np.array([self._check_index(_scalar(value, what), what)], dtype=np.int64)
        arr = np.asarray(value)
        if arr.shape != (rows,) or not (np.issubdtype(arr.dtype, np.integer)):
            raise ValueError(f"{what} must be an integer array of shape ({rows},), got {arr.dtype} {arr.shape}")
        bad = (arr < 0) | (arr >= self.n)
        if bad.any():
            raise ValueError(f"{what} has out-of-range index {int(arr[bad][0])}: the split has items 0..{self.n - 1}")
        return arr.astype(np.int64)

    # ---- the turn loop ------------------------------------------------------------------------
    def advance(self, rngs: Sequence[np.random.Generator], reset_rows: np.ndarray,
                reset_options: Sequence[tuple[int | None, int | None]], queries: np.ndarray | None,
                chosen: np.ndarray | None,
                frozen: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Reset the rows in `reset_rows`, step the others with (queries, chosen); one ranking, one user call.

        `queries` and `chosen` hold one row per stepped row. Rows in `frozen` (forks' finished
        branches) neither reset nor step and keep their state. Returns (reward, terminated,
        truncated), each (B,); reset and frozen rows get 0, False, False.
        """
        b = len(self.target)
        frozen = np.zeros(b, dtype=bool) if frozen is None else frozen
        changed = ~frozen
        compares = getattr(self.user, "compares_with_previous", False)
        previous = self.candidate.copy() if compares else None  # what each row showed before this turn
        step_rows = np.flatnonzero(changed & ~reset_rows)
        all_queries = np.empty((b, self.dim), dtype=np.float32)
        for row, (target, first) in zip(np.flatnonzero(reset_rows), reset_options, strict=True):
            rng = rngs[row]
            target = int(rng.integers(self.n)) if target is None else target
            if first is None:
                first = int((target + 1 + rng.integers(self.n - 1)) % self.n)
            self.target[row], self.candidate[row], self.turn[row] = target, first, 0
            self.shown[row] = False
            self.shown[row, first] = True
            self.shown_idx[row] = first
            self.n_shown[row] = 1
            all_queries[row] = self.features[first]
        if len(step_rows):
            all_queries[step_rows] = queries
        rows = np.flatnonzero(changed)
        every = len(rows) == b
        scores = self.ranker.scores(all_queries if every else all_queries[rows])  # (R, N): distances + const
        ranks = self.ranker.ranks_from(scores, self.target[rows])
        if len(step_rows):
            if chosen is None:
                stepping = np.isin(rows, step_rows, assume_unique=True)
                rows_scores = scores if stepping.all() else scores[torch.as_tensor(np.flatnonzero(stepping))]
                shown_idx = self.shown_idx if len(step_rows) == b else self.shown_idx[step_rows]
                chosen = self.ranker.nearest_from(rows_scores, shown_idx)[:, 0]
            self._mark_shown(step_rows, chosen)
            self.candidate[step_rows] = chosen
            self.turn[step_rows] += 1
        self.rank[rows], self.percentile[rows] = ranks, rank_percentile(ranks, self.n)
        context = {}
        if previous is not None:
            previous[reset_rows] = -1
            context["previous_ids"] = np.where(previous[rows] >= 0, self.item_ids[previous[rows]], -1)
        texts = self.user.describe(self.item_ids[self.target[rows]], self.item_ids[self.candidate[rows]],
                                   rngs=list(rngs) if every else [rngs[r] for r in rows], **context)
        if every:
            self.text = list(texts)
        else:
            for r, text in zip(rows, texts, strict=True):
                self.text[r] = text
        self.tokens[rows] = self.vocabulary.encode(texts, max_len=MAX_TOKENS)
        stepped = changed & ~reset_rows
        terminated = stepped & (self.candidate == self.target)
        truncated = stepped & ~terminated & (self.turn >= self.max_turns)
        reward = np.where(stepped, self.percentile, 0.0).astype(np.float32)
        return reward, terminated, truncated

    def _mark_shown(self, rows: np.ndarray, chosen: np.ndarray) -> None:
        if self.n_shown[rows].max() >= self.shown_idx.shape[1]:
            pad = self.shown_idx[:, :1].expand(-1, self.shown_idx.shape[1])  # grow by doubling
            self.shown_idx = torch.cat([self.shown_idx, pad], dim=1)
        dev = self.ranker.device
        rows_t, chosen_t = torch.as_tensor(rows, device=dev), torch.as_tensor(chosen, device=dev)
        self.shown[rows_t, chosen_t] = True
        self.shown_idx[rows_t, torch.as_tensor(self.n_shown[rows], device=dev)] = chosen_t
        self.n_shown[rows] += 1

    def fork(self, rows: np.ndarray, rngs: Sequence[np.random.Generator], candidates: Any,
             queries: Any = None) -> DialogBranches:
        """K branches of each dialog in `rows`, branch (i, k) starting by showing candidates[i, k].

        The branches copy the dialogs' state and generators and share everything else (catalog,
        ranker, user, vocabulary); the dialogs themselves are not changed. See `DialogBranches`.
        """
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        cands = np.asarray(candidates)
        if cands.ndim != 2 or len(cands) != len(rows):
            raise ValueError(f"candidates must have shape ({len(rows)}, K), got {cands.shape}")
        k = cands.shape[1]
        flat = self._check_indices(cands.reshape(-1), "candidates", cands.size)
        if queries is not None:
            queries = self._check_query(np.asarray(queries, dtype=np.float32).reshape(-1, self.dim), "queries",
                                        cands.size)
        if np.any(self.turn[rows] >= self.max_turns):
            raise ValueError("cannot fork a dialog that has already taken max_turns turns")
        if np.any((self.turn[rows] > 0) & (self.candidate[rows] == self.target[rows])):
            raise ValueError("cannot fork a dialog that has ended (its target was shown)")
        branch = object.__new__(DialogBatch)
        branch.__dict__.update({key: value for key, value in self.__dict__.items()
                                if key in ("catalog", "item_ids", "n", "features", "dim", "ranker", "user",
                                           "vocabulary", "action_type", "max_turns", "privileged", "query_bound")})
        parent = np.repeat(rows, k)  # (B*K,) the dialog each branch comes from
        parent_t = torch.as_tensor(parent, device=self.ranker.device)
        for key in ("target", "candidate", "turn", "rank", "percentile", "tokens", "n_shown"):
            setattr(branch, key, getattr(self, key)[parent].copy())
        branch.text = [self.text[i] for i in parent]
        branch.shown = self.shown[parent_t]  # advanced indexing copies
        branch.shown_idx = self.shown_idx[parent_t]
        branch_rngs = [_copy_generator(rngs[i]) for i in parent]
        return DialogBranches(branch, branch_rngs, parent, flat, queries)

    def what_if(self, row: int, rng: np.random.Generator, candidates: Any, queries: Any = None) -> WhatIf:
        """Outcomes of showing each of `candidates` next, from row `row`'s state, without changing it."""
        cands = np.atleast_1d(np.asarray(candidates))
        if queries is not None:
            queries = np.asarray(queries, dtype=np.float32)
            if queries.shape != (len(cands), self.dim):
                raise ValueError(f"queries has shape {queries.shape}, expected {(len(cands), self.dim)}")
        branches = self.fork(np.array([row]), [rng], cands.reshape(1, -1), queries)
        core = branches.core
        return WhatIf(branches.first_candidates, list(core.text), core.tokens.copy(), core.rank.copy(),
                      core.percentile.copy(), branches.terminated.copy())

    def observation(self, rows: slice | np.ndarray) -> dict[str, np.ndarray]:
        return {
            "candidate": self.candidate[rows].copy(),
            "candidate_features": self.features[self.candidate[rows]].copy(),
            "feedback": self.tokens[rows].copy(),
            "turn": np.minimum(self.turn[rows], self.max_turns).copy(),
        }

    def info(self, rows: slice | np.ndarray) -> dict[str, Any]:
        shown = self.shown[rows].cpu().numpy().copy()
        out: dict[str, Any] = {
            "feedback_text": np.array(self.text, dtype=object)[rows],
            "rank": self.rank[rows].copy(),
            "rank_percentile": self.percentile[rows].copy(),
            "candidate_id": self.item_ids[self.candidate[rows]],
            "shown": shown,
        }
        if self.privileged:
            out["target"] = self.target[rows].copy()
            out["target_features"] = self.features[self.target[rows]].copy()
        return out


class DialogBranches:
    """B x K hypothetical continuations of B dialogs, stepped together by the env's own turn loop.

    Made by `ShoeRetrievalEnv.fork` / `ShoeRetrievalVectorEnv.fork` (the paper's model-based policy
    improvement rolls each top-K candidate forward with its policy). Branch j continues dialog
    `parent[j]` and has already shown `first_candidates[j]` (with the given query, else the image's
    own vector): its state, reward and feedback are what the real env would give after that
    action, because every branch draws from a copy of its dialog's generator. Each `step` is one
    ranking and one user call for all unfinished branches; finished branches (target shown or
    max_turns reached) stay as they are and earn 0. The real dialogs are never touched.

    Arrays are indexed by branch j = i * K + k (dialog i, candidate k).
    """

    def __init__(self, core: DialogBatch, rngs: list[np.random.Generator], parent: np.ndarray,
                 first_candidates: np.ndarray, first_queries: np.ndarray | None):
        self.core, self.rngs, self.parent = core, rngs, parent
        self.first_candidates = first_candidates
        n = len(parent)
        self.terminated = np.zeros(n, dtype=bool)
        self.truncated = np.zeros(n, dtype=bool)
        queries = core.features[first_candidates] if first_queries is None else first_queries
        self.reward = self._advance(queries, first_candidates)
        """(B*K,) reward of the first (forking) step."""

    def __len__(self) -> int:
        return len(self.parent)

    @property
    def done(self) -> np.ndarray:
        """(B*K,) branches that have ended (target shown, or max_turns taken)."""
        return self.terminated | self.truncated

    @property
    def ranks(self) -> np.ndarray:
        """(B*K,) the target's rank under each branch's latest query (as it was when a finished branch ended)."""
        return self.core.rank.copy()

    @property
    def shown_indices(self) -> torch.Tensor:
        """(B*K, M) int64 images each branch has shown, on the env's device (a row may repeat an index)."""
        return self.core.shown_idx[:, : int(self.core.n_shown.max())]

    @property
    def n_items(self) -> int:
        """Images in the split the branches rank."""
        return self.core.n

    @property
    def turns_left(self) -> np.ndarray:
        """(B*K,) turns each branch has left before `max_turns`."""
        return np.maximum(self.core.max_turns - self.core.turn, 0)

    def _advance(self, queries: np.ndarray, chosen: np.ndarray | None) -> np.ndarray:
        done = self.done
        live = ~done
        queries = queries[live]
        chosen = None if chosen is None else chosen[live]
        reward, terminated, truncated = self.core.advance(self.rngs, np.zeros(len(self), dtype=bool), [], queries,
                                                          chosen, frozen=done)
        self.terminated |= terminated
        self.truncated |= truncated
        return reward

    def step(self, queries: Any = None, candidates: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Step every unfinished branch; rows of finished branches are ignored.

        `queries` (B*K, D) ranks and earns the reward; with `candidates` (B*K,) those images are
        shown, else the nearest unseen image to each query (the env's "query" action). Candidates
        alone use their own vectors as queries. Returns (reward, terminated, truncated), (B*K,) each.
        """
        core, n = self.core, len(self)
        if queries is None and candidates is None:
            raise ValueError("step needs queries, candidates or both")
        chosen = None if candidates is None else core._check_indices(candidates, "candidates", n)
        q = core.features[chosen] if queries is None else core._check_query(queries, "queries", n)
        was_done = self.done.copy()
        reward = self._advance(q, chosen)
        return reward, self.terminated & ~was_done, self.truncated & ~was_done

    def observation(self) -> dict[str, np.ndarray]:
        """The branches' observations, as the vector env's."""
        return self.core.observation(slice(None))

    def info(self) -> dict[str, Any]:
        """The branches' info (rank, rank_percentile, feedback_text, ...), as the vector env's."""
        return self.core.info(slice(None))


class _OverwrittenSeed(np.random.bit_generator.ISeedSequence):
    """A seed for a bit generator whose state is set right after: skips the OS entropy and hashing of a
    fresh SeedSequence, which made copying generators most of the cost of a fork."""

    def generate_state(self, n_words: int, dtype: Any = np.uint32) -> np.ndarray:
        return np.zeros(n_words, dtype=dtype)


_OVERWRITTEN_SEED = _OverwrittenSeed()


def _copy_generator(rng: np.random.Generator) -> np.random.Generator:
    """An independent generator in the same state as `rng` (it draws what `rng` would draw next)."""
    twin = np.random.Generator(type(rng.bit_generator)(_OVERWRITTEN_SEED))
    twin.bit_generator.state = rng.bit_generator.state
    return twin


def _scalar(value: Any, what: str) -> Any:
    arr = np.asarray(value)
    if arr.shape not in ((), (1,)):
        raise ValueError(f"{what} must be a single integer index, got shape {arr.shape}")
    return arr.reshape(()).item() if np.issubdtype(arr.dtype, np.integer) else value


def _build_parts(catalog: Catalog | CatalogConfig | str, split: str, user: User | str, vocabulary: Vocabulary | None,
                 action_type: str, max_turns: int, device: str | torch.device, privileged: bool,
                 num_dialogs: int) -> DialogBatch:
    """Validate arguments and assemble the shared DialogBatch (used by both env classes)."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if action_type not in ACTION_TYPES:
        raise ValueError(f"action_type must be one of {ACTION_TYPES}, got {action_type!r}")
    if not isinstance(max_turns, (int, np.integer)) or max_turns < 1:
        raise ValueError(f"max_turns must be a positive integer, got {max_turns!r}")
    if privileged and split != "train":
        raise ValueError("privileged information (the target) is only offered on the train split")
    torch_device = resolve_device(device)
    cat = registry.load_catalog(catalog, device=torch_device)
    if vocabulary is None:
        vocabulary = registry.load_vocabulary(cat)
    elif not isinstance(vocabulary, Vocabulary):
        raise ValueError(f"vocabulary must be a Vocabulary, got {type(vocabulary).__name__}")
    if isinstance(user, str):
        user = registry.make_user(user, cat, device=torch_device, vocabulary=vocabulary)
    elif not isinstance(user, User) and not callable(getattr(user, "describe", None)):
        raise ValueError(f"user must be a name in {registry.USER_NAMES}, a User, or an object with describe(), "
                         f"got {type(user).__name__}")
    return DialogBatch(cat, split, user, vocabulary, action_type, int(max_turns), torch_device, num_dialogs,
                       bool(privileged))


def _spaces(core: DialogBatch) -> tuple[spaces.Space, spaces.Dict]:
    query = spaces.Box(-core.query_bound, core.query_bound, shape=(core.dim,), dtype=np.float32)
    candidate = spaces.Discrete(core.n)
    action = {"query": query, "candidate": candidate,
              "query_and_candidate": spaces.Dict({"query": query, "candidate": candidate})}[core.action_type]
    observation = spaces.Dict({
        "candidate": spaces.Discrete(core.n),
        "candidate_features": spaces.Box(-core.query_bound, core.query_bound, shape=(core.dim,), dtype=np.float32),
        "feedback": spaces.Box(0, len(core.vocabulary) - 1, shape=(MAX_TOKENS,), dtype=np.int64),
        "turn": spaces.Discrete(core.max_turns + 1),
    })
    return action, observation


class ShoeRetrievalEnv(gym.Env):
    """A simulated shopper wants a target shoe; each turn the agent shows one and hears how the target differs.

    ## Description
    The dialog-based interactive image retrieval task of Guo et al. (NeurIPS 2018). A target item is
    drawn from a catalog split. Each turn the user describes, in free text, how the target differs
    from the image on show ("are red with a lower heel"); the agent answers with a query in the
    retrieval space and/or the next image to show. The catalog is injected (SynthShoes by default),
    and so is the user (by default the paper's user model, a trained relative captioner; or the
    grammar shopper, a relative-attribute shopper, the binary-relevance shopper, or any object with
    `describe(target_ids, candidate_ids, rngs) -> list[str]`; a user with `compares_with_previous =
    True` also gets `previous_ids`, the image shown before, -1 on a dialog's first image).

    ## Action Space
    Chosen by `action_type`:
    - `"query"`: `Box(-B, B, (D,), float32)`, a vector in the retrieval space (the paper's state s_t).
      The env ranks the split by L2 distance to it and shows the nearest image not yet shown.
      Any finite vector of the right shape is accepted. Generalises to unseen catalogs.
    - `"candidate"`: `Discrete(N)`, the position in the split of the image to show; its own feature
      vector is the query. Re-showing an image is allowed.
    - `"query_and_candidate"`: `Dict(query=Box(D), candidate=Discrete(N))`: the query ranks and
      earns the reward, the candidate is the image shown (for agents that sample their candidate
      among the top-K of the query, as the paper's agents do in training).

    ## Observation Space
    A one-level `Dict` (Stable-Baselines3's MultiInputPolicy accepts it):
    - `candidate`: `Discrete(N)`, position in the split of the image on show.
    - `candidate_features`: `Box(-B, B, (D,), float32)`, its retrieval vector (B bounds every item of
      the split with room to spare; it is also the bound of query actions).
    - `feedback`: `Box(0, V - 1, (16,), int64)`, the user's feedback about it as token ids of the
      project's vocabulary (`simulators.language.vocab`), padded with 0 and truncated to 16 tokens.
    - `turn`: `Discrete(max_turns + 1)`, turns taken so far (0 after reset).

    `info` holds `feedback_text` (the raw sentence), `rank` (images strictly closer to the current
    query than the target; 0 is best), `rank_percentile`, `candidate_id` (catalog index), and `shown`
    (bool mask over the split of images shown so far). With `privileged=True` (train split only) it
    also holds `target` (position in the split) and `target_features`, for supervised and
    model-based learners.

    ## Rewards
    Every step earns the target's rank percentile under the step's query, `1 - rank / (N - 1)` in
    [0, 1], computed exactly over the whole split. `reset` reports the same figure for the first
    image in `info` (the turn-0 point of the protocol's curves).

    ## Starting State
    A target drawn uniformly from the split and a uniformly random first image that is not the
    target, both from `self.np_random`; `options={"target": i, "first_candidate": j}` fixes them
    (the evaluation protocol uses every test item as the target once).

    ## Episode End
    `terminated` when the image shown is the target; `truncated` after `max_turns` steps.

    ## Arguments
    `gym.make("envs:ShoeRetrieval-v0", catalog="full", split="train", user="captioner",
    action_type="query", max_turns=5, device="auto", privileged=False, render_mode=None)`.
    `catalog` is "full" (SynthShoes, 14,658 items, built and cached on first use), "tiny" (64
    items, for tests), a `CatalogConfig` or a `Catalog`. `user` is "captioner" (the relative
    captioner, trained and cached on first use with a progress bar, minutes on a CPU;
    `python -m simulators.build captioner` builds it ahead of time; a tiny model on catalogs
    under 1,000 items), "grammar" (the caption grammar that wrote the corpus: always true),
    "attributes-1", "attributes-3", "attributes-10" (relative-attribute feedback from the true
    scores), the same with "-handcrafted" or "-deep" (from estimated scores), any name in
    `simulators.registry.USER_NAMES`, or a user object. `device` ("cpu", "cuda",
    "auto") is where the ranking and the captioner run. `vocabulary` overrides the tokenizer's
    vocabulary.

    ## Model-based rollouts
    `env.unwrapped.fork(candidates, queries=None)` makes one hypothetical continuation of the dialog
    per candidate (`DialogBranches`): each starts by showing its candidate and can be stepped to the
    end of the dialog with the env's own turn loop (one ranking and one user call per simulated turn
    for all branches), using exactly the user randomness the real steps would use, without changing
    the episode. `ShoeRetrievalVectorEnv.fork` does the same for every sub-env at once (B x K
    branches). `env.unwrapped.what_if(candidates, queries=None)` is its one-step case: what the user
    would say, and what the reward would be, if image j were shown now.

    ## Vectorized environment
    `gym.make_vec("envs:ShoeRetrieval-v0", num_envs=256, vectorization_mode="vector_entry_point")`
    gives `ShoeRetrievalVectorEnv`: one ranking and one user call per step for all dialogs,
    next-step autoreset, and the same trajectories as `SyncVectorEnv` for the same seeds.

    ## Version History
    - v0: initial release. Since added without changing any trajectory: `fork` (batched
      what-if rollouts), a `User` and a `Vocabulary` as typed arguments; `what_if` and `fork` now
      refuse a dialog that has ended instead of answering for it.

    >>> import gymnasium as gym, envs
    >>> env = gym.make("envs:ShoeRetrieval-v0", catalog="tiny", action_type="candidate")
    >>> obs, info = env.reset(seed=0)
    >>> obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    >>> 0.0 <= reward <= 1.0
    True
    """

    metadata = {"render_modes": ["rgb_array", "ansi"], "render_fps": 1}

    def __init__(self, catalog: Catalog | CatalogConfig | str = "full", split: str = "train",
                 user: User | str = "captioner", action_type: str = "query", max_turns: int = 5, device: str = "auto",
                 privileged: bool = False, vocabulary: Vocabulary | None = None, render_mode: str | None = None):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        self.core = _build_parts(catalog, split, user, vocabulary, action_type, max_turns, device, privileged, 1)
        self.action_space, self.observation_space = _spaces(self.core)
        self.render_mode = render_mode
        self.split = split
        self._started = False

    @property
    def catalog(self) -> Catalog:
        return self.core.catalog

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        target_first = self.core.check_options(options)
        super().reset(seed=seed)
        self.core.advance([self.np_random], np.array([True]), [target_first], None, None)
        self._started = True
        return self._obs(), self._info()

    def step(self, action):
        if not self._started:
            raise gym.error.ResetNeeded("call reset() before step()")
        queries, chosen = self.core.parse_actions(action, batched=False)
        reward, terminated, truncated = self.core.advance([self.np_random], np.array([False]), [], queries, chosen)
        return self._obs(), float(reward[0]), bool(terminated[0]), bool(truncated[0]), self._info()

    def what_if(self, candidates: Any, queries: Any = None) -> WhatIf:
        """What the user would say and what reward each of `candidates` (split positions) would earn if shown
        next (with `queries` as the queries, else each image's own vector); the episode is not changed."""
        if not self._started:
            raise gym.error.ResetNeeded("call reset() before what_if()")
        return self.core.what_if(0, self.np_random, candidates, queries)

    def fork(self, candidates: Any, queries: Any = None) -> DialogBranches:
        """K hypothetical continuations of this dialog, branch k starting by showing candidates[k] (split
        positions; with `queries[k]` as its query, else the image's own vector); see `DialogBranches`.
        The episode is not changed. `what_if` is the one-step case."""
        if not self._started:
            raise gym.error.ResetNeeded("call reset() before fork()")
        cands = np.atleast_1d(np.asarray(candidates)).reshape(1, -1)
        return self.core.fork(np.array([0]), [self.np_random], cands, queries)

    def _obs(self) -> dict[str, Any]:
        obs = self.core.observation(slice(0, 1))
        return {"candidate": int(obs["candidate"][0]), "candidate_features": obs["candidate_features"][0],
                "feedback": obs["feedback"][0], "turn": int(obs["turn"][0])}

    def _info(self) -> dict[str, Any]:
        info = self.core.info(slice(0, 1))
        out = {k: v[0] for k, v in info.items()}
        out["feedback_text"] = str(out["feedback_text"])
        out["rank"], out["rank_percentile"] = int(out["rank"]), float(out["rank_percentile"])
        out["candidate_id"] = int(out["candidate_id"])
        if "target" in out:
            out["target"] = int(out["target"])
        return out

    def render(self):
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='rgb_array' or 'ansi'")
            return None
        if not self._started:
            raise gym.error.ResetNeeded("call reset() before render()")
        core = self.core
        line = (f"turn {int(core.turn[0])}/{core.max_turns}  shown #{int(core.candidate[0])}  "
                f"target rank {int(core.rank[0])} ({float(core.percentile[0]):.1%})  user: {core.text[0]!r}")
        if self.render_mode == "ansi":
            return line
        return _render_pair(self.catalog, core.item_ids[core.candidate[0]], core.item_ids[core.target[0]], line)


def _render_pair(catalog: Catalog, candidate_id: int, target_id: int, caption: str) -> np.ndarray:
    """Candidate beside target, with the feedback line underneath."""
    from PIL import Image, ImageDraw

    size = 192
    pair = catalog.render(np.array([candidate_id, target_id]), size=size)
    canvas = Image.new("RGB", (2 * size + 24, size + 64), "white")
    canvas.paste(Image.fromarray(pair[0]), (8, 20))
    canvas.paste(Image.fromarray(pair[1]), (size + 16, 20))
    draw = ImageDraw.Draw(canvas)
    draw.text((8, 4), "shown", fill="black")
    draw.text((size + 16, 4), "target (hidden from the agent)", fill="black")
    words, lines, current = caption.split(), [], ""
    for w in words:
        if len(current) + len(w) + 1 > 64:
            lines.append(current)
            current = w
        else:
            current = f"{current} {w}".strip()
    lines.append(current)
    for k, text in enumerate(lines[:3]):
        draw.text((8, size + 24 + 12 * k), text, fill="black")
    return np.asarray(canvas, dtype=np.uint8)


class ShoeRetrievalVectorEnv(VectorEnv):
    """`num_envs` dialogs stepped as whole arrays: one batched ranking and one batched user call per step.

    Spaces are the single env's, batched. Autoreset mode is next-step (Gymnasium's default): the step
    after a dialog ends resets it, ignores its action, and returns reward 0. Sub-env i seeded with
    `seed + i` follows exactly the trajectory of `ShoeRetrievalEnv` seeded with `seed + i`, as in
    `SyncVectorEnv`. `info` holds the single env's keys as arrays (with Gymnasium's `_key` masks).
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(self, num_envs: int = 1, catalog: Catalog | CatalogConfig | str = "full", split: str = "train",
                 user: User | str = "captioner", action_type: str = "query", max_turns: int = 5, device: str = "auto",
                 privileged: bool = False, vocabulary: Vocabulary | None = None, render_mode: str | None = None):
        if not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
        if render_mode is not None:
            raise ValueError("the native vector env does not render; use ShoeRetrievalEnv for render_mode")
        self.num_envs = int(num_envs)
        self.core = _build_parts(catalog, split, user, vocabulary, action_type, max_turns, device, privileged,
                                 self.num_envs)
        self.single_action_space, self.single_observation_space = _spaces(self.core)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.render_mode = None
        self._rngs: list[np.random.Generator] = [seeding.np_random()[0] for _ in range(self.num_envs)]
        self._needs_reset = np.ones(self.num_envs, dtype=bool)
        self._started = False

    @property
    def catalog(self) -> Catalog:
        return self.core.catalog

    @property
    def np_random_per_env(self) -> list[np.random.Generator]:
        return self._rngs

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict | None = None):
        if seed is None:
            seeds: list[int | None] = [None] * self.num_envs
        elif isinstance(seed, (int, np.integer)):
            seeds = [int(seed) + i for i in range(self.num_envs)]
        else:
            seeds = list(seed)
            if len(seeds) != self.num_envs:
                raise ValueError(f"got {len(seeds)} seeds for {self.num_envs} envs")
        row_options = self._row_options(options)
        if seed is not None:
            self._rngs = [seeding.np_random(s)[0] if s is not None else seeding.np_random()[0] for s in seeds]
        self.core.advance(self._rngs, np.ones(self.num_envs, dtype=bool), row_options, None, None)
        self._needs_reset[:] = False
        self._started = True
        return self.core.observation(slice(None)), self._info()

    def _row_options(self, options: dict | None) -> list[tuple[int | None, int | None]]:
        """Per-row (target, first candidate); options values may be scalars or length-num_envs arrays."""
        if not options:
            return [(None, None)] * self.num_envs
        if not isinstance(options, dict):
            raise ValueError(f"options must be a dict, got {type(options).__name__}")
        rows = []
        for i in range(self.num_envs):
            row = {}
            for k, v in options.items():
                v_arr = np.asarray(v)
                row[k] = v_arr[i] if v_arr.ndim == 1 and len(v_arr) == self.num_envs else v
            rows.append(self.core.check_options(row))
        return rows

    def step(self, actions):
        if not self._started:
            raise gym.error.ResetNeeded("call reset() before step()")
        queries, chosen = self.core.parse_actions(actions, batched=True)
        resets = self._needs_reset.copy()
        keep = ~resets
        queries = queries[keep]
        chosen = None if chosen is None else chosen[keep]
        reward, terminated, truncated = self.core.advance(
            self._rngs, resets, [(None, None)] * int(resets.sum()), queries, chosen)
        self._needs_reset = terminated | truncated
        return self.core.observation(slice(None)), reward, terminated, truncated, self._info()

    def what_if(self, env_index: int, candidates: Any, queries: Any = None) -> WhatIf:
        """`ShoeRetrievalEnv.what_if` for sub-env `env_index`."""
        if not 0 <= env_index < self.num_envs:
            raise ValueError(f"env_index {env_index} out of range 0..{self.num_envs - 1}")
        return self.core.what_if(env_index, self._rngs[env_index], candidates, queries)

    def fork(self, candidates: Any, queries: Any = None, env_indices: Any = None) -> DialogBranches:
        """B x K hypothetical continuations: branch (i, k) continues sub-env `env_indices[i]` (default: all)
        by showing candidates[i, k] (with queries[i, k] as its query, else the image's own vector). One
        ranking and one user call per `step` for all branches; the sub-envs are not changed. Sub-envs that
        are due for an autoreset cannot be forked."""
        if not self._started:
            raise gym.error.ResetNeeded("call reset() before fork()")
        rows = np.arange(self.num_envs) if env_indices is None else np.asarray(env_indices, dtype=np.int64)
        if rows.ndim != 1 or (len(rows) and (rows.min() < 0 or rows.max() >= self.num_envs)):
            raise ValueError(f"env_indices must be a 1-D array of indices in 0..{self.num_envs - 1}")
        if self._needs_reset[rows].any():
            raise ValueError("cannot fork a sub-env whose dialog has ended (it resets on the next step)")
        return self.core.fork(rows, self._rngs, candidates, queries)

    def _info(self) -> dict[str, Any]:
        info = self.core.info(slice(None))
        out: dict[str, Any] = {}
        for k, v in info.items():
            out[k] = v
            out[f"_{k}"] = np.ones(self.num_envs, dtype=bool)
        return out
