"""ShoeRetrieval-v0: dialog-based interactive image retrieval (Guo et al., NeurIPS 2018) as a Gymnasium env.

The env and its native vector version share one turn loop, the private `envs._batch.DialogBatch`,
which runs B dialogs at once: one batched ranking and one batched user call per step. The single
env is that loop with B = 1, so the two give the same trajectories for the same seeds. Callers read
the env through its documented properties (`max_turns`, `n_items`, `features`, `ranker`, ...), never
the loop itself.
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

from envs._batch import MAX_TOKENS, DialogBatch, copy_generator
from envs.ranking import Ranker, resolve_device
from simulators import registry
from simulators.catalog.catalog import Catalog, CatalogConfig
from simulators.language.vocab import Vocabulary
from simulators.users import User

ACTION_TYPES = ("query", "candidate", "query_and_candidate")


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

    def __init__(self, batch: DialogBatch, rows: np.ndarray, rngs: Sequence[np.random.Generator], candidates: Any,
                 queries: Any = None):
        """Branches of the dialogs `rows` of `batch` (whose generators are `rngs`); `batch` is not changed."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        cands, first_queries = batch.check_fork(rows, candidates, queries)  # (B, K), (B*K, D) or None
        self.parent = np.repeat(rows, cands.shape[1])
        """(B*K,) the dialog (row of the env) each branch continues."""
        self.first_candidates = cands.reshape(-1)
        """(B*K,) the image each branch showed first."""
        self._batch = batch.copy_rows(self.parent)
        self.rngs = [copy_generator(rngs[i]) for i in self.parent]
        """(B*K,) each branch's user generator: a copy of its dialog's."""
        n = len(self.parent)
        self.terminated = np.zeros(n, dtype=bool)
        self.truncated = np.zeros(n, dtype=bool)
        first = self._batch.features[self.first_candidates] if first_queries is None else first_queries
        self.reward = self._advance(first, self.first_candidates)
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
        return self._batch.rank.copy()

    @property
    def shown_indices(self) -> torch.Tensor:
        """(B*K, M) int64 images each branch has shown, on the env's device (a row may repeat an index)."""
        return self._batch.shown_indices()

    @property
    def n_items(self) -> int:
        """Images in the split the branches rank."""
        return self._batch.n

    @property
    def turns(self) -> np.ndarray:
        """(B*K,) turns each branch's dialog has taken, the forking step included (frozen once it ends)."""
        return self._batch.turn.copy()

    @property
    def turns_left(self) -> np.ndarray:
        """(B*K,) turns each branch has left before `max_turns`."""
        return np.maximum(self._batch.max_turns - self._batch.turn, 0)

    def _advance(self, queries: np.ndarray, chosen: np.ndarray | None) -> np.ndarray:
        done = self.done
        live = ~done
        queries = queries[live]
        chosen = None if chosen is None else chosen[live]
        reward, terminated, truncated = self._batch.advance(self.rngs, np.zeros(len(self), dtype=bool), [], queries,
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
        batch, n = self._batch, len(self)
        if queries is None and candidates is None:
            raise ValueError("step needs queries, candidates or both")
        chosen = None if candidates is None else batch.check_indices(candidates, "candidates", n)
        q = batch.features[chosen] if queries is None else batch.check_query(queries, "queries", n)
        was_done = self.done.copy()
        reward = self._advance(q, chosen)
        return reward, self.terminated & ~was_done, self.truncated & ~was_done

    def observation(self) -> dict[str, np.ndarray]:
        """The branches' observations, as the vector env's."""
        return self._batch.observation(slice(None))

    def info(self) -> dict[str, Any]:
        """The branches' info (rank, rank_percentile, feedback_text, ...), as the vector env's."""
        return self._batch.info(slice(None))


def _what_if(batch: DialogBatch, row: int, rng: np.random.Generator, candidates: Any, queries: Any) -> WhatIf:
    """Outcomes of showing each of `candidates` next, from row `row`'s state, without changing it."""
    cands = np.atleast_1d(np.asarray(candidates))
    if queries is not None:
        queries = np.asarray(queries, dtype=np.float32)
        if queries.shape != (len(cands), batch.dim):
            raise ValueError(f"queries has shape {queries.shape}, expected {(len(cands), batch.dim)}")
    branches = DialogBranches(batch, np.array([row]), [rng], cands.reshape(1, -1), queries)
    first = branches._batch
    return WhatIf(branches.first_candidates, list(first.text), first.tokens.copy(), first.rank.copy(),
                  first.percentile.copy(), branches.terminated.copy())



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


def _spaces(batch: DialogBatch) -> tuple[spaces.Space, spaces.Dict]:
    query = spaces.Box(-batch.query_bound, batch.query_bound, shape=(batch.dim,), dtype=np.float32)
    candidate = spaces.Discrete(batch.n)
    action = {"query": query, "candidate": candidate,
              "query_and_candidate": spaces.Dict({"query": query, "candidate": candidate})}[batch.action_type]
    observation = spaces.Dict({
        "candidate": spaces.Discrete(batch.n),
        "candidate_features": spaces.Box(-batch.query_bound, batch.query_bound, shape=(batch.dim,), dtype=np.float32),
        "feedback": spaces.Box(0, len(batch.vocabulary) - 1, shape=(MAX_TOKENS,), dtype=np.int64),
        "turn": spaces.Discrete(batch.max_turns + 1),
    })
    return action, observation


class _EnvProperties:
    """The read-only properties both env classes offer (ShoeRetrievalEnv's docstring, "Properties")."""

    _batch: DialogBatch

    @property
    def catalog(self) -> Catalog:
        """The catalog whose split the dialogs run on."""
        return self._batch.catalog

    @property
    def max_turns(self) -> int:
        """Turns a dialog may take before it is truncated."""
        return self._batch.max_turns

    @property
    def n_items(self) -> int:
        """N, the images in the split: targets, candidates and ranks are over these."""
        return self._batch.n

    @property
    def feature_dim(self) -> int:
        """D, the length of a retrieval vector (query actions, `candidate_features`)."""
        return self._batch.dim

    @property
    def features(self) -> np.ndarray:
        """(N, D) float32 retrieval vectors of the split, row i the image at position i; read-only."""
        return _read_only(self._batch.features)

    @property
    def item_ids(self) -> np.ndarray:
        """(N,) catalog index of each position in the split (what `info["candidate_id"]` holds); read-only."""
        return _read_only(self._batch.item_ids)

    @property
    def user(self) -> User:
        """The simulated user that gives the feedback."""
        return self._batch.user

    @property
    def ranker(self) -> Ranker:
        """The env's ranker over the split, on the env's device, for benchmarks that time the env's ranking
        work beside its steps (`benchmarks.reports.throughput`, `.fork`). Ranking with it changes no dialog."""
        return self._batch.ranker


def _read_only(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False
    return view


class ShoeRetrievalEnv(_EnvProperties, gym.Env):
    """A simulated shopper wants a target shoe; each turn the agent shows one and hears how the target differs.

    ## Description
    The dialog-based interactive image retrieval task of Guo et al. (NeurIPS 2018). A target item is
    drawn from a catalog split. Each turn the user describes, in free text, how the target differs
    from the image on show ("are red with a lower heel"); the agent answers with a query in the
    retrieval space and/or the next image to show. The catalog is injected (SynthShoes by default),
    and so is the user (by default the paper's user model, a trained relative captioner; or the
    grammar shopper, a relative-attribute shopper, the binary-relevance shopper, or any object with
    `describe(target_ids, candidate_ids, rngs) -> list[str]`; a user with `compares_with_previous =
    True` also gets `previous_ids`, the image shown before, -1 on a dialog's first image; a user with
    `draws_per_dialog = True`, such as a population of users, `simulators.users.UserMixture`, has
    `draw_dialog(rng)` called with the dialog's generator when a dialog starts and gets what it drew back
    each turn as `dialog_draws`).

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

    ## Properties
    Read-only, on `env.unwrapped` and on the vector env: `max_turns`; `n_items` (N, the split's
    size); `feature_dim` (D); `features` ((N, D) the split's retrieval vectors); `item_ids` ((N,)
    each position's catalog index); `catalog`; `user`; `ranker` (the env's `envs.ranking.Ranker`,
    for benchmarks that time its ranking work). The vector env adds `shown_indices` (each dialog's
    shown images as indices); `DialogBranches` has `turns`, `turns_left`, `ranks`, `shown_indices`
    and `n_items`. The target is not among them: it is in `info` only with `privileged=True`. The
    turn loop behind them (`envs._batch`) is private to `envs`.

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
    next-step autoreset (or same-step, `autoreset_mode="same_step"`, which SB3 expects:
    `agents.sb3_vec_env.SB3VecEnv`), and the same trajectories as `SyncVectorEnv` with the same mode for
    the same seeds.

    ## Version History
    - v0: initial release. Since added without changing any trajectory: `fork` (batched
      what-if rollouts), a `User` and a `Vocabulary` as typed arguments; `what_if` and `fork` now
      refuse a dialog that has ended instead of answering for it; the properties above, in place
      of the turn loop (`env.core`, now private); the vector env's `autoreset_mode` option (same-step
      beside the default next-step).
    - v0 on world v2 (the id kept: it is the one users were promised): SynthShoes' render version 3 (25
      colours, among them the navy, cream and bronze shades) and grammar v4 changed every image, every
      feature vector and every caption, so every default trajectory changed; the spaces, the reward and the
      options did not. The catalog is `synthshoes-99e1afbff6853e02` (world v1: `synthshoes-e2c75fdbbb85ea30`);
      results files record it (`catalog.name`, with the catalog's content hash), which is how results of the
      two worlds are told apart, and the protocol's frozen dialogs are per catalog.

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
        self._batch = _build_parts(catalog, split, user, vocabulary, action_type, max_turns, device, privileged, 1)
        self.action_space, self.observation_space = _spaces(self._batch)
        self.render_mode = render_mode
        self.split = split
        self._started = False

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        target_first = self._batch.check_options(options)
        super().reset(seed=seed)
        self._batch.advance([self.np_random], np.array([True]), [target_first], None, None)
        self._started = True
        return self._obs(), self._info()

    def step(self, action):
        if not self._started:
            raise gym.error.ResetNeeded("call reset() before step()")
        queries, chosen = self._batch.parse_actions(action, batched=False)
        reward, terminated, truncated = self._batch.advance([self.np_random], np.array([False]), [], queries, chosen)
        return self._obs(), float(reward[0]), bool(terminated[0]), bool(truncated[0]), self._info()

    def what_if(self, candidates: Any, queries: Any = None) -> WhatIf:
        """What the user would say and what reward each of `candidates` (split positions) would earn if shown
        next (with `queries` as the queries, else each image's own vector); the episode is not changed."""
        if not self._started:
            raise gym.error.ResetNeeded("call reset() before what_if()")
        return _what_if(self._batch, 0, self.np_random, candidates, queries)

    def fork(self, candidates: Any, queries: Any = None) -> DialogBranches:
        """K hypothetical continuations of this dialog, branch k starting by showing candidates[k] (split
        positions; with `queries[k]` as its query, else the image's own vector); see `DialogBranches`.
        The episode is not changed. `what_if` is the one-step case."""
        if not self._started:
            raise gym.error.ResetNeeded("call reset() before fork()")
        cands = np.atleast_1d(np.asarray(candidates)).reshape(1, -1)
        return DialogBranches(self._batch, np.array([0]), [self.np_random], cands, queries)

    def _obs(self) -> dict[str, Any]:
        obs = self._batch.observation(slice(0, 1))
        return {"candidate": int(obs["candidate"][0]), "candidate_features": obs["candidate_features"][0],
                "feedback": obs["feedback"][0], "turn": int(obs["turn"][0])}

    def _info(self) -> dict[str, Any]:
        info = self._batch.info(slice(0, 1))
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
        batch = self._batch
        line = (f"turn {int(batch.turn[0])}/{batch.max_turns}  shown #{int(batch.candidate[0])}  "
                f"target rank {int(batch.rank[0])} ({float(batch.percentile[0]):.1%})  user: {batch.text[0]!r}")
        if self.render_mode == "ansi":
            return line
        return _render_pair(self.catalog, batch.item_ids[batch.candidate[0]], batch.item_ids[batch.target[0]], line)


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


class ShoeRetrievalVectorEnv(_EnvProperties, VectorEnv):
    """`num_envs` dialogs stepped as whole arrays: one batched ranking and one batched user call per step.

    Spaces are the single env's, batched. `autoreset_mode` is Gymnasium's:
    - `"next_step"` (the default, what RLlib's env runners and Gymnasium's own loops expect): the step
      after a dialog ends resets it, ignores its action, and returns reward 0;
    - `"same_step"` (what Stable-Baselines3 expects; `agents.sb3.SB3VecEnv` builds on it): a dialog that
      ends is reset within the same step, which returns the new dialog's first observation; the ended
      dialog's last observation and info are in `info["final_obs"]` (an object array holding each ended
      row's observation dict, None elsewhere) and `info["final_info"]` (the info's arrays), rows marked by
      `info["_final_obs"]`, as in `SyncVectorEnv(..., autoreset_mode=SAME_STEP)`. The resets
      cost one more ranking and user call, for the ended rows only.
    Sub-env i seeded with `seed + i` follows exactly the trajectory of `ShoeRetrievalEnv` seeded with
    `seed + i`, as in `SyncVectorEnv` with the same mode. `info` holds the single env's keys as arrays
    (with Gymnasium's `_key` masks). It has the single env's properties (`max_turns`, `n_items`,
    `features`, `ranker`, ...) and `shown_indices`.
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(self, num_envs: int = 1, catalog: Catalog | CatalogConfig | str = "full", split: str = "train",
                 user: User | str = "captioner", action_type: str = "query", max_turns: int = 5, device: str = "auto",
                 privileged: bool = False, vocabulary: Vocabulary | None = None, render_mode: str | None = None,
                 autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP):
        if not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
        if render_mode is not None:
            raise ValueError("the native vector env does not render; use ShoeRetrievalEnv for render_mode")
        modes = {"next_step": AutoresetMode.NEXT_STEP, "same_step": AutoresetMode.SAME_STEP}
        mode = autoreset_mode if autoreset_mode in modes.values() else modes.get(str(autoreset_mode).lower())
        if mode is None:
            raise ValueError(f"autoreset_mode must be one of {list(modes)} (or Gymnasium's AutoresetMode of "
                             f"either), got {autoreset_mode!r}")
        self.autoreset_mode = mode
        self.metadata = {**self.metadata, "autoreset_mode": mode}
        self.num_envs = int(num_envs)
        self._batch = _build_parts(catalog, split, user, vocabulary, action_type, max_turns, device, privileged,
                                 self.num_envs)
        self.single_action_space, self.single_observation_space = _spaces(self._batch)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.render_mode = None
        self._rngs: list[np.random.Generator] = [seeding.np_random()[0] for _ in range(self.num_envs)]
        self._needs_reset = np.ones(self.num_envs, dtype=bool)
        self._started = False

    @property
    def np_random_per_env(self) -> list[np.random.Generator]:
        return self._rngs

    @property
    def shown_indices(self) -> torch.Tensor:
        """(num_envs, M) int64 images each sub-env's dialog has shown, on the env's device (a row may repeat an
        index): the same set as `info["shown"]`, in the index form `Ranker.nearest` excludes cheaply."""
        return self._batch.shown_indices()

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
        self._batch.advance(self._rngs, np.ones(self.num_envs, dtype=bool), row_options, None, None)
        self._needs_reset[:] = False
        self._started = True
        return self._batch.observation(slice(None)), self._info()

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
            rows.append(self._batch.check_options(row))
        return rows

    def step(self, actions):
        if not self._started:
            raise gym.error.ResetNeeded("call reset() before step()")
        queries, chosen = self._batch.parse_actions(actions, batched=True)
        resets = self._needs_reset.copy()
        keep = ~resets
        queries = queries[keep]
        chosen = None if chosen is None else chosen[keep]
        reward, terminated, truncated = self._batch.advance(
            self._rngs, resets, [(None, None)] * int(resets.sum()), queries, chosen)
        ended = terminated | truncated
        if self.autoreset_mode is AutoresetMode.NEXT_STEP or not ended.any():
            self._needs_reset = ended
            return self._batch.observation(slice(None)), reward, terminated, truncated, self._info()
        last, final_info = self._batch.observation(slice(None)), self._info()
        final_obs = np.full(self.num_envs, None, dtype=object)  # Gymnasium's layout: one observation per row
        for i in np.flatnonzero(ended):
            final_obs[i] = {k: v[i] for k, v in last.items()}
        self._batch.advance(self._rngs, ended, [(None, None)] * int(ended.sum()), None, None, frozen=~ended)
        info = self._info()
        info["final_obs"], info["_final_obs"] = final_obs, ended
        info["final_info"], info["_final_info"] = final_info, ended.copy()
        return self._batch.observation(slice(None)), reward, terminated, truncated, info

    def what_if(self, env_index: int, candidates: Any, queries: Any = None) -> WhatIf:
        """`ShoeRetrievalEnv.what_if` for sub-env `env_index`."""
        if not 0 <= env_index < self.num_envs:
            raise ValueError(f"env_index {env_index} out of range 0..{self.num_envs - 1}")
        return _what_if(self._batch, env_index, self._rngs[env_index], candidates, queries)

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
        return DialogBranches(self._batch, rows, self._rngs, candidates, queries)

    def _info(self) -> dict[str, Any]:
        info = self._batch.info(slice(None))
        out: dict[str, Any] = {}
        for k, v in info.items():
            out[k] = v
            out[f"_{k}"] = np.ones(self.num_envs, dtype=bool)
        return out
