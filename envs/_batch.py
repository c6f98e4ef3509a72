"""The turn loop of ShoeRetrieval-v0, private to `envs`: B dialogs over one catalog split, advanced together.

`ShoeRetrievalEnv` (B = 1), `ShoeRetrievalVectorEnv` and `DialogBranches` each hold one `DialogBatch`
and show its state through their own documented properties. Only `envs` and its tests import this
module (an import-linter contract in pyproject.toml, and tests/envs/test_public_surface.py), so its
attributes can change without breaking a caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from envs.ranking import Ranker, rank_percentile
from simulators.catalog.catalog import Catalog
from simulators.language.vocab import Vocabulary
from simulators.users import User

MAX_TOKENS = 16
RESET_OPTIONS = ("target", "first_candidate")
SHARED = ("catalog", "item_ids", "n", "features", "dim", "ranker", "user", "vocabulary", "action_type", "max_turns",
          "privileged", "query_bound")
"""What forked batches share with their parent; everything else is per-dialog state, copied."""
PER_DIALOG = ("target", "candidate", "turn", "rank", "percentile", "tokens", "n_shown", "dialog_draw")
"""The per-dialog numpy arrays (besides `text`, `shown` and `shown_idx`)."""


class DialogBatch:
    """B dialogs over one catalog split, advanced together: the turn loop of env, vector env and branches."""

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
        self.dialog_draw = np.zeros(b, dtype=np.int64)  # what a user with draws_per_dialog drew for the dialog

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

    def check_query(self, value: Any, what: str, rows: int | None) -> np.ndarray:
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
            return self.check_query(actions, "query action", b).reshape(-1, self.dim), None
        if self.action_type == "candidate":
            chosen = self.check_indices(actions, "candidate action", b)
            return self.features[chosen], chosen
        if not isinstance(actions, dict) or set(actions) != {"query", "candidate"}:
            raise ValueError("a query_and_candidate action must be a dict with exactly the keys 'query' and "
                             f"'candidate', got {actions!r:.200}")
        queries = self.check_query(actions["query"], "action['query']", b).reshape(-1, self.dim)
        return queries, self.check_indices(actions["candidate"], "action['candidate']", b)

    def check_indices(self, value: Any, what: str, rows: int | None) -> np.ndarray:
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
        draws = getattr(self.user, "draws_per_dialog", False)
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
            if draws:
                self.dialog_draw[row] = self.user.draw_dialog(rng)
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
        if draws:
            context["dialog_draws"] = self.dialog_draw[rows]
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

    # ---- forks --------------------------------------------------------------------------------
    def check_fork(self, rows: np.ndarray, candidates: Any, queries: Any) -> tuple[np.ndarray, np.ndarray | None]:
        """(candidates (R, K) int64, queries (R*K, D) float32 or None) for forking `rows`; ValueError if invalid
        or if one of the dialogs has ended (max_turns taken, or its target shown)."""
        cands = np.asarray(candidates)
        if cands.ndim != 2 or len(cands) != len(rows):
            raise ValueError(f"candidates must have shape ({len(rows)}, K), got {cands.shape}")
        flat = self.check_indices(cands.reshape(-1), "candidates", cands.size)
        if queries is not None:
            queries = self.check_query(np.asarray(queries, dtype=np.float32).reshape(-1, self.dim), "queries",
                                       cands.size)
        if np.any(self.turn[rows] >= self.max_turns):
            raise ValueError("cannot fork a dialog that has already taken max_turns turns")
        if np.any((self.turn[rows] > 0) & (self.candidate[rows] == self.target[rows])):
            raise ValueError("cannot fork a dialog that has ended (its target was shown)")
        return flat.reshape(cands.shape), queries

    def copy_rows(self, parent: np.ndarray) -> DialogBatch:
        """A batch whose row j is a copy of row `parent[j]`; the catalog, ranker, user and vocabulary are shared."""
        branch = object.__new__(DialogBatch)
        branch.__dict__.update({key: value for key, value in self.__dict__.items() if key in SHARED})
        parent_t = torch.as_tensor(parent, device=self.ranker.device)
        for key in PER_DIALOG:
            setattr(branch, key, getattr(self, key)[parent].copy())
        branch.text = [self.text[i] for i in parent]
        branch.shown = self.shown[parent_t]  # advanced indexing copies
        branch.shown_idx = self.shown_idx[parent_t]
        return branch

    # ---- what the env classes show --------------------------------------------------------------
    def shown_indices(self) -> torch.Tensor:
        """(B, M) int64 images each dialog has shown, M the most any has shown (a row may repeat an index)."""
        return self.shown_idx[:, : int(self.n_shown.max())]

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


class _OverwrittenSeed(np.random.bit_generator.ISeedSequence):
    """A seed for a bit generator whose state is set right after: skips the OS entropy and hashing of a
    fresh SeedSequence, which made copying generators most of the cost of a fork."""

    def generate_state(self, n_words: int, dtype: Any = np.uint32) -> np.ndarray:
        return np.zeros(n_words, dtype=dtype)


_OVERWRITTEN_SEED = _OverwrittenSeed()


def copy_generator(rng: np.random.Generator) -> np.random.Generator:
    """An independent generator in the same state as `rng` (it draws what `rng` would draw next)."""
    twin = np.random.Generator(type(rng.bit_generator)(_OVERWRITTEN_SEED))
    twin.bit_generator.state = rng.bit_generator.state
    return twin


def _scalar(value: Any, what: str) -> Any:
    arr = np.asarray(value)
    if arr.shape not in ((), (1,)):
        raise ValueError(f"{what} must be a single integer index, got shape {arr.shape}")
    return arr.reshape(()).item() if np.issubdtype(arr.dtype, np.integer) else value

