"""The paper's dialog manager (Guo et al. 2018, Sec. 3): response encoder, state tracker, candidate generator.

Each turn the manager reads the image on show and the user's feedback about it, updates its
dialog state, and answers with s_t, a point in the catalog's retrieval space (the env's query).
The candidate generator turns s_t into the next image: a softmax over the negative distances of
s_t to its top-K nearest unseen images, sampled while training and the nearest while evaluating
(which is exactly what the env does with a "query" action).

    from agents.dialog_manager import DialogManagerAgent
    agent = DialogManagerAgent.load("runs/policy_improvement-captioner-0/final")   # or a new one
    action, _ = agent.predict(obs, episode_start=episode_start)                   # (B, D) queries

Three methods train it (one file each): `agents.triplet_sl`, `agents.scst`, `agents.policy_improvement`;
the triplet loss they share (`triplet_loss`, `anchor_loss`) is at the end of this file.
Distances inside the model are measured in units of `feature_scale` (the root-mean-square norm of the
catalog's train vectors), so the paper's margins and temperatures keep their meaning on any catalog.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from agents.base import Agent, as_batch
from agents.index import NearestNeighbourIndex
from envs.ranking import resolve_device
from simulators import registry
from simulators.cache import CorruptArtifactError, verify_artifact, write_artifact, write_json
from simulators.catalog.catalog import Catalog
from simulators.language.vocab import PAD_ID, Vocabulary

CHECKPOINT_KIND = "dialog-manager"
CHECKPOINT_FORMAT = "dialog-manager-v1"
WEIGHTS = "model.safetensors"
CONFIG = "config.json"


class CheckpointMismatchError(ValueError):
    """A dialog-manager checkpoint belongs to another catalog or vocabulary than the one given."""


@dataclass(frozen=True)
class DialogManagerConfig:
    """Architecture of the dialog manager (the published implementation's sizes by default)."""

    vocab_size: int
    """Words of the vocabulary, special tokens included (the env's `feedback` ids)."""
    feature_dim: int
    """D, the retrieval space of the catalog (the env's `candidate_features` and query actions)."""
    hidden_dim: int = 256
    """Width of the response encoding and of the GRU state."""
    embed_dim: int = 512
    """Word embedding size of the text encoder."""
    conv_width: int = 2
    """Width of the text encoder's 1-D convolution over word embeddings."""
    top_k: int = 4
    """Candidates the generator chooses among: the K nearest unseen images to s_t."""
    temperature: float = 1.0
    """Softmax temperature of the candidate generator over negative distances (in feature_scale units)."""
    selection_head: bool = False
    """A second linear head over the dialog state, read through a stopped gradient, gives the point the
    candidate generator chooses around among s_t's top-K (False: s_t itself, the paper's manager, which
    shows the nearest). It separates the RL methods' action (which image to show) from the query that earns
    the reward, so a policy gradient cannot move the ranking; the agent then acts with a query and a
    candidate ("query_and_candidate")."""
    candidate_scorer: int = 0
    """Width of a residual candidate scorer (0: none): a small network over the dialog state and each of the
    top-K candidates (its features, its rank among them, its distance to s_t and to the images already
    shown), added to the generator's logits. Its output layer starts at zero, so a new scorer chooses as
    the generator does; its inputs are read through stopped gradients, so training it leaves the query as
    it is. Like the selection head, it makes the agent act with a query and a candidate."""

    def __post_init__(self) -> None:
        for name in ("vocab_size", "feature_dim", "hidden_dim", "embed_dim", "conv_width", "top_k"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if not self.temperature > 0:
            raise ValueError(f"temperature must be positive, got {self.temperature}")
        if self.candidate_scorer < 0:
            raise ValueError(f"candidate_scorer must be 0 (none) or a width, got {self.candidate_scorer}")

    @property
    def chooses(self) -> bool:
        """Whether the manager chooses the image to show itself (a selection head or a candidate scorer)."""
        return self.selection_head or self.candidate_scorer > 0


class TextEncoder(nn.Module):
    """Feedback token ids (B, T) -> (B, H): embedding, width-2 convolution, max-pool over time, batch norm, linear.

    The convolution over word embeddings is linear, so it is computed through a per-word table:
    window t gives sum_j table[j, token[t + j]] + bias, with table[j] = embeddings @ kernel[:, :, j].T,
    exactly the convolution of the embedded sentence but at a cost that depends on the vocabulary
    (a few hundred words) instead of on batch x length. Without gradients (rollouts) the table is
    kept until the weights change.
    """

    def __init__(self, config: DialogManagerConfig):
        super().__init__()
        self.embed = nn.Embedding(config.vocab_size, config.embed_dim, padding_idx=PAD_ID)
        self.conv = nn.Conv1d(config.embed_dim, config.hidden_dim, kernel_size=config.conv_width)
        self.norm = nn.BatchNorm1d(config.hidden_dim)
        self.out = nn.Linear(config.hidden_dim, config.hidden_dim)
        self.width = config.conv_width
        self._table: tuple[tuple[int, ...], torch.Tensor] | None = None

    def word_table(self) -> torch.Tensor:
        """(width, V, H): each word's contribution to a window at each of its positions."""
        version = (self.embed.weight._version, self.conv.weight._version, id(self.embed.weight),
                   self.embed.weight.device.index or 0)
        if not torch.is_grad_enabled() and self._table is not None and self._table[0] == version:
            return self._table[1]
        table = torch.einsum("ve,hej->jvh", self.embed.weight, self.conv.weight)  # (w, V, H)
        self._table = (version, table.detach()) if not torch.is_grad_enabled() else None
        return table

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if tokens.shape[1] < self.width:  # too short for one window: pad
            tokens = F.pad(tokens, (0, self.width - tokens.shape[1]), value=PAD_ID)
        table = self.word_table()
        windows = tokens.shape[1] - self.width + 1
        h = self.conv.bias + sum(table[j][tokens[:, j:j + windows]] for j in range(self.width))  # (B, T', H)
        h = F.relu(h)
        # A window counts if it starts on a word; an all-padding sentence keeps its first window.
        valid = tokens[:, :windows] != PAD_ID  # (B, T')
        valid[:, 0] = True
        h = h.masked_fill(~valid[:, :, None], float("-inf")).amax(dim=1)  # (B, H)
        return self.out(self.norm(h))


class ResponseEncoder(nn.Module):
    """(image on show, feedback about it) -> (B, H): image linear + text encoder, concatenated and projected."""

    def __init__(self, config: DialogManagerConfig):
        super().__init__()
        self.image = nn.Linear(config.feature_dim, config.hidden_dim)
        self.text = TextEncoder(config)
        self.joint = nn.Linear(2 * config.hidden_dim, config.hidden_dim)

    def forward(self, image: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        joint = torch.cat([self.image(image), self.text(tokens)], dim=1)  # (B, 2H)
        return F.relu(self.joint(joint))


class StateTracker(nn.Module):
    """A GRU cell over the turns' responses, and a linear map of its state into the retrieval space."""

    def __init__(self, config: DialogManagerConfig):
        super().__init__()
        self.cell = nn.GRUCell(config.hidden_dim, config.hidden_dim)
        self.head = nn.Linear(config.hidden_dim, config.feature_dim)

    def forward(self, response: torch.Tensor, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.cell(response, hidden)  # (B, H)
        return self.head(hidden), hidden  # (B, D) in feature_scale units, (B, H)


class CandidateScorer(nn.Module):
    """(dialog state, s_t, top-K candidates, images shown) -> (B, K) scores added to the generator's logits.

    Every input is in feature_scale units and read through a stopped gradient; the output layer starts at
    zero. Per candidate: a linear map of its features, an embedding of its rank among the K (nearest first),
    its distance to s_t less the nearest's, and its distance to the nearest image already shown.
    """

    MAX_RANK = 16

    def __init__(self, config: DialogManagerConfig):
        super().__init__()
        width = config.candidate_scorer
        self.image = nn.Linear(config.feature_dim, width)
        self.rank = nn.Embedding(self.MAX_RANK, width)
        self.state = nn.Linear(config.hidden_dim, width)
        self.distances = nn.Linear(2, width)
        self.out = nn.Linear(width, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, hidden: torch.Tensor, state: torch.Tensor, candidates: torch.Tensor,
                shown: torch.Tensor) -> torch.Tensor:
        hidden, state, candidates, shown = (t.detach() for t in (hidden, state, candidates, shown))
        k = candidates.shape[1]
        to_state = torch.linalg.vector_norm(candidates - state[:, None, :], dim=2)  # (B, K)
        to_shown = torch.cdist(candidates, shown).amin(dim=2)  # (B, K): distance to the nearest shown image
        distances = torch.stack([to_state - to_state[:, :1], to_shown], dim=2)  # (B, K, 2)
        ranks = torch.arange(k, device=candidates.device).clamp(max=self.MAX_RANK - 1)
        x = (self.image(candidates) + self.rank(ranks)[None] + self.state(hidden)[:, None, :]
             + self.distances(distances))  # (B, K, W)
        return self.out(F.relu(x))[..., 0]


class DialogManager(nn.Module):
    """The network: one `step` per turn, from (image features, feedback ids, previous hidden) to (s_t, hidden).

    Inputs and s_t are in the catalog's retrieval space; internally features are divided by
    `feature_scale`. The turn number is not an input (the paper's policy ignores it).
    """

    def __init__(self, config: DialogManagerConfig, feature_scale: float = 1.0):
        super().__init__()
        self.config = config
        self.register_buffer("feature_scale", torch.tensor(float(feature_scale)))
        self.response = ResponseEncoder(config)
        self.tracker = StateTracker(config)
        self.selection = nn.Linear(config.hidden_dim, config.feature_dim) if config.selection_head else None
        self.scorer = CandidateScorer(config) if config.candidate_scorer else None

    def initial_hidden(self, batch: int, device: torch.device | str | None = None) -> torch.Tensor:
        return torch.zeros(batch, self.config.hidden_dim, device=device or self.feature_scale.device)

    def step(self, image: torch.Tensor, tokens: torch.Tensor,
             hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(s_t (B, D) in retrieval-space units, new hidden (B, H))."""
        response = self.response(image / self.feature_scale, tokens)  # (B, H)
        state, hidden = self.tracker(response, hidden)
        return state * self.feature_scale, hidden

    def selection_point(self, state: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
        """(B, D) the point the candidate generator chooses around: s_t, or the selection head's output (whose
        gradient stops at the dialog state, so training it leaves the query as it is)."""
        if self.selection is None:
            return state
        return self.selection(hidden.detach()) * self.feature_scale

    def choice_logits(self, state: torch.Tensor, hidden: torch.Tensor, candidates: torch.Tensor,
                      shown: torch.Tensor) -> torch.Tensor:
        """(B, K) logits of showing each of candidates (B, K, D), s_t's top-K nearest first, given the dialog
        state and the images shown (B, M, D): the generator's, around the selection point, plus the scorer's."""
        logits = self.candidate_logits(self.selection_point(state, hidden), candidates)
        if self.scorer is not None:
            scale = self.feature_scale
            logits = logits + self.scorer(hidden, state / scale, candidates / scale, shown / scale)
        return logits

    def candidate_logits(self, point: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        """(B, K) logits of choosing each of candidates (B, K, D) around `point` (B, D): -distance / temperature."""
        d = torch.linalg.vector_norm((candidates - point[:, None, :]) / self.feature_scale, dim=2)  # (B, K)
        return -d / self.config.temperature


def feature_scale_of(features: np.ndarray) -> float:
    """Root-mean-square norm of a split's retrieval vectors: the model's unit of distance."""
    return float(np.sqrt((np.asarray(features, dtype=np.float64) ** 2).sum(axis=1).mean()))


class DialogManagerAgent(Agent):
    """The dialog manager as an agent: SB3's `predict` over the vector env's batched observations.

    Dialog state (the GRU's hidden vector) lives inside the agent, one row per dialog, and row i is
    cleared when `episode_start[i]` is True (and whenever the batch size changes). `predict` returns
    s_t, a query: the env shows the nearest unseen image, which is the candidate generator's greedy
    choice. With a selection head (`DialogManagerConfig.selection_head`) `predict` returns
    {"query": s_t, "candidate": the image to show}, chosen among s_t's top-K unseen images around the
    head's point, and the agent tracks each dialog's shown images. Training methods use `model`,
    `topk_candidates`, `choose` and `sample_candidates` directly.
    """

    action_type = "query"

    def __init__(self, config: DialogManagerConfig, catalog: Catalog, vocabulary: Vocabulary, split: str = "train",
                 device: str | torch.device = "cpu", feature_scale: float | None = None,
                 index_backend: str = "torch", meta: dict[str, Any] | None = None):
        if config.vocab_size != len(vocabulary):
            raise CheckpointMismatchError(f"the model has {config.vocab_size} word ids, the vocabulary "
                                          f"{len(vocabulary)}")
        if config.feature_dim != catalog.feature_dim:
            raise CheckpointMismatchError(f"the model works in {config.feature_dim}-D, the catalog in "
                                          f"{catalog.feature_dim}-D")
        self.config, self.catalog, self.vocabulary = config, catalog, vocabulary
        self.action_type = "query_and_candidate" if config.chooses else "query"
        self.device = resolve_device(device)
        self.meta = dict(meta or {})
        train_features = catalog.features[catalog.train_ids]
        scale = feature_scale_of(train_features) if feature_scale is None else feature_scale
        self.model = DialogManager(config, scale).to(self.device)
        self.index_backend = index_backend
        self._splits: dict[str, tuple[torch.Tensor, NearestNeighbourIndex]] = {}
        self.use_split(split)
        self._hidden: torch.Tensor | None = None
        self._shown: torch.Tensor | None = None
        self.path: Path | None = None
        """Where the agent was loaded from or last saved to."""

    @classmethod
    def create(cls, catalog: Catalog, vocabulary: Vocabulary, device: str | torch.device = "cpu", seed: int = 0,
               **config: Any) -> DialogManagerAgent:
        """A freshly initialised manager for `catalog` and `vocabulary` (weights seeded by `seed`)."""
        cfg = DialogManagerConfig(vocab_size=len(vocabulary), feature_dim=catalog.feature_dim, **config)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return cls(cfg, catalog, vocabulary, device=device)

    # ---- the candidate generator ------------------------------------------------------------
    def use_split(self, split: str) -> None:
        """Search candidates among `split`'s images (positions in the split, as the env's actions)."""
        if split not in self._splits:
            features = np.ascontiguousarray(self.catalog.features[self.catalog.split_ids(split)], dtype=np.float32)
            self._splits[split] = (torch.as_tensor(features, device=self.device),  # (N, D)
                                   NearestNeighbourIndex(features, backend=self.index_backend, device=self.device))
        self.split = split
        self.features, self.index = self._splits[split]

    def topk_candidates(self, state: torch.Tensor, shown: torch.Tensor, k: int | None = None) -> torch.Tensor:
        """(B, K) split positions of the K nearest unseen images to each s_t, nearest first.

        `shown` is a (B, M) int64 tensor of images already shown in each dialog (rows may repeat an index).
        """
        _, idx = self.index.search(state.detach(), k or self.config.top_k, exclude=shown)
        return idx.to(self.device)

    def choice_logits(self, state: torch.Tensor, hidden: torch.Tensor, candidates: torch.Tensor,
                      shown: torch.Tensor) -> torch.Tensor:
        """(B, K) `DialogManager.choice_logits` for split positions: candidates (B, K), shown (B, M)."""
        return self.model.choice_logits(state, hidden, self.features[candidates], self.features[shown])

    def choose(self, state: torch.Tensor, hidden: torch.Tensor, candidates: torch.Tensor,
               shown: torch.Tensor) -> torch.Tensor:
        """(B,) the greedy choice among `candidates` (B, K, nearest to s_t first): the nearest itself unless the
        manager chooses (a selection head or a candidate scorer)."""
        if not self.config.chooses:
            return candidates[:, 0]
        logits = self.choice_logits(state, hidden, candidates, shown)  # (B, K)
        return candidates.gather(1, logits.argmax(dim=1, keepdim=True))[:, 0]

    def with_selection_head(self, candidate_scorer: int = 0, seed: int = 0) -> DialogManagerAgent:
        """A copy of this manager that chooses the image to show: with a selection head that starts as the query
        head, or (`candidate_scorer` > 0) with a candidate scorer of that width that starts at zero; either way
        it first shows what this manager shows, the nearest unseen image. The new layers' weights are seeded by
        `seed` (not torch's global generator)."""
        if self.config.chooses:
            return self
        change = {"candidate_scorer": candidate_scorer} if candidate_scorer else {"selection_head": True}
        config = DialogManagerConfig(**{**asdict(self.config), **change})
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            agent = DialogManagerAgent(config, self.catalog, self.vocabulary, split=self.split, device=self.device,
                                       feature_scale=float(self.model.feature_scale),
                                       index_backend=self.index_backend, meta=self.meta)
        agent.model.load_state_dict(self.model.state_dict(), strict=False)
        if agent.model.selection is not None:
            agent.model.selection.load_state_dict(self.model.tracker.head.state_dict())
        return agent

    def sample_candidates(self, state: torch.Tensor, candidates: torch.Tensor,
                          generator: torch.Generator | None = None, temperature: float | None = None,
                          hidden: torch.Tensor | None = None,
                          shown: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(chosen split positions (B,), log-probability of each choice (B,)) sampled among `candidates` (B, K)
        from the generator's softmax around s_t (with `hidden` and `shown`: the manager's own choice logits),
        at `temperature` instead of the model's when given."""
        if hidden is None or shown is None:
            logits = self.model.candidate_logits(state, self.features[candidates])  # (B, K)
        else:
            logits = self.choice_logits(state, hidden, candidates, shown)
        if temperature is not None:
            logits = logits * (self.config.temperature / temperature)
        log_probs = F.log_softmax(logits, dim=1)
        pick = torch.multinomial(log_probs.detach().exp(), 1, generator=generator)[:, 0]
        chosen = candidates.gather(1, pick[:, None])[:, 0]
        return chosen, log_probs.gather(1, pick[:, None])[:, 0]

    # ---- SB3's interface ----------------------------------------------------------------------
    def reset_state(self) -> None:
        """Forget every dialog (the next `predict` starts fresh dialogs)."""
        self._hidden = None
        self._shown = None

    @torch.no_grad()
    def predict(self, observation: dict[str, Any], state: Any = None, episode_start: np.ndarray | None = None,
                deterministic: bool = True) -> tuple[np.ndarray, Any]:
        """s_t for each dialog of a batch of observations: (B, D) float32 queries ((D,) for a single observation);
        with a selection head, {"query": s_t, "candidate": (B,) split positions of the images to show}."""
        obs, single = as_batch(observation)
        b = len(obs["candidate"])
        was_training = self.model.training
        self.model.eval()
        start = None if episode_start is None else torch.as_tensor(
            np.asarray(episode_start, dtype=bool).reshape(b), device=self.device)
        fresh = self._hidden is None or len(self._hidden) != b
        if fresh:
            self._hidden = self.model.initial_hidden(b, self.device)
        elif start is not None:
            self._hidden = self._hidden.masked_fill(start[:, None], 0.0)
        if self.config.chooses:
            self._track_shown(obs["candidate"], start, fresh)
        image = torch.as_tensor(obs["candidate_features"], dtype=torch.float32, device=self.device)
        tokens = torch.as_tensor(obs["feedback"], dtype=torch.long, device=self.device)
        query, self._hidden = self.model.step(image, tokens, self._hidden)
        self.model.train(was_training)
        out = query.cpu().numpy().astype(np.float32)
        if not self.config.chooses:
            return (out[0] if single else out), None
        chosen = self.choose(query, self._hidden, self.topk_candidates(query, self._shown), self._shown).cpu().numpy()
        return ({"query": out[0], "candidate": int(chosen[0])} if single else {"query": out, "candidate": chosen}), None

    def _track_shown(self, on_show: Any, start: torch.Tensor | None, fresh: bool) -> None:
        """Add the images on show to each dialog's shown images (a new dialog's row restarts from its first)."""
        on_show = torch.as_tensor(np.asarray(on_show, dtype=np.int64).reshape(-1), device=self.device)[:, None]
        if fresh or self._shown is None or (start is not None and bool(start.all())):
            self._shown = on_show
            return
        if start is not None:
            self._shown = torch.where(start[:, None], on_show, self._shown)  # the row repeats its first image
        self._shown = torch.cat([self._shown, on_show], dim=1)

    def learn(self, method: Any, **kwargs: Any) -> DialogManagerAgent:
        """Train with a method's argument object (`TripletSLArgs`, `SCSTArgs`, `PolicyImprovementArgs`)."""
        if not callable(getattr(method, "train", None)):
            raise TypeError("learn() takes a training method's arguments, e.g. agents.triplet_sl.TripletSLArgs()")
        method.train(self, **kwargs)
        return self

    # ---- checkpoints -----------------------------------------------------------------------------
    def checkpoint_meta(self) -> dict[str, Any]:
        return {"format": CHECKPOINT_FORMAT, "catalog": self.catalog.name, "catalog_items": len(self.catalog),
                "vocabulary_sha256": self.vocabulary.content_hash, "model": asdict(self.config),
                "feature_scale": float(self.model.feature_scale), **self.meta}

    def save(self, path: str | Path, extra: dict[str, Any] | None = None,
             extra_files: dict[str, Any] | None = None) -> Path:
        """Write a checkpoint directory atomically: safetensors weights, config.json (catalog, vocabulary hash,
        architecture, anything in `extra`), a manifest with every file's sha256; `extra_files` maps names to
        callables that write more files into the staging directory (training state)."""
        meta = {**self.checkpoint_meta(), **(extra or {})}

        def write(staging: Path) -> dict[str, Any]:
            state = {k: v.detach().to("cpu").contiguous() for k, v in self.model.state_dict().items()}
            save_file(state, str(staging / WEIGHTS), metadata={"format": CHECKPOINT_FORMAT,
                                                               "catalog": self.catalog.name,
                                                               "vocabulary_sha256": self.vocabulary.content_hash})
            write_json(meta, staging / CONFIG)
            for writer in (extra_files or {}).values():
                writer(staging)
            return meta

        self.path = write_artifact(Path(path), CHECKPOINT_KIND, {"format": CHECKPOINT_FORMAT}, write).path
        return self.path

    @classmethod
    def load(cls, path: str | Path, catalog: Catalog | None = None, vocabulary: Vocabulary | None = None,
             device: str | torch.device = "cpu", index_backend: str = "torch", **_: Any) -> DialogManagerAgent:
        """A saved manager, verified: a damaged file raises CorruptArtifactError, another catalog or vocabulary
        CheckpointMismatchError. Without `catalog`/`vocabulary` the ones named in the checkpoint are loaded."""
        path = Path(path)
        if not path.is_dir():
            raise FileNotFoundError(f"no dialog-manager checkpoint at {path}")
        art = verify_artifact(path, kind=CHECKPOINT_KIND)
        meta = json.loads(art.file(CONFIG).read_text(encoding="utf-8"))
        if meta.get("format") != CHECKPOINT_FORMAT:
            raise CorruptArtifactError(f"{path} is not a {CHECKPOINT_FORMAT} checkpoint")
        if catalog is None or vocabulary is None:
            catalog = catalog or registry.load_catalog("tiny" if meta["catalog_items"] < 1000 else "full")
            vocabulary = vocabulary or registry.load_vocabulary(catalog)
        if meta.get("catalog") != catalog.name:
            raise CheckpointMismatchError(f"dialog manager {path} was trained on catalog {meta.get('catalog')!r}, "
                                          f"not {catalog.name!r}")
        if meta.get("vocabulary_sha256") != vocabulary.content_hash:
            raise CheckpointMismatchError(f"dialog manager {path} was trained with vocabulary "
                                          f"{str(meta.get('vocabulary_sha256'))[:12]}..., not "
                                          f"{vocabulary.content_hash[:12]}...: its word ids would mean other words")
        try:
            state = load_file(str(art.file(WEIGHTS)), device="cpu")
        except (SafetensorError, ValueError, OSError) as err:
            raise CorruptArtifactError(f"{path / WEIGHTS} is not a readable safetensors file ({err})") from None
        config = DialogManagerConfig(**meta["model"])
        extra = {k: v for k, v in meta.items() if k not in ("format", "catalog", "catalog_items", "vocabulary_sha256",
                                                            "model", "feature_scale")}
        agent = cls(config, catalog, vocabulary, device=device, feature_scale=meta["feature_scale"],
                    index_backend=index_backend, meta=extra)
        try:
            agent.model.load_state_dict(state, strict=True)
        except RuntimeError as err:
            raise CorruptArtifactError(f"{path / WEIGHTS} does not fit the dialog manager ({err})") from None
        agent.path = path
        return agent


# ---- losses the training methods share ------------------------------------------------------------
def triplet_loss(state: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, scale: torch.Tensor,
                 margin: float) -> torch.Tensor:
    """(B,) max(0, margin + |s - positive| - |s - negative|), distances divided by `scale`."""
    d_pos = torch.linalg.vector_norm((state - positive) / scale, dim=1)
    d_neg = torch.linalg.vector_norm((state - negative) / scale, dim=1)
    return torch.relu(margin + d_pos - d_neg)


def anchor_loss(agent: DialogManagerAgent, state: torch.Tensor, targets: torch.Tensor, features: torch.Tensor,
                margin: float, hard_negatives: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """((B,) the SL triplet loss of s_t, (B,) its random negatives): against a random train image and, with
    `hard_negatives` = M > 0, also against one drawn from the M nearest images to s_t other than the target
    (a top-of-ranking objective: it pays for every near miss that outranks the target). Triplet SL trains
    with it; RL-SCST and policy improvement add it as the anchor that keeps s_t a good query."""
    b, scale = len(state), agent.model.feature_scale
    negatives = torch.randint(0, len(features), (b,), generator=gen, device=state.device)
    loss = triplet_loss(state, features[targets], features[negatives], scale, margin)
    if hard_negatives:
        pool = agent.topk_candidates(state, targets[:, None], k=hard_negatives)  # (B, M) nearest non-targets
        pick = torch.randint(0, pool.shape[1], (b, 1), generator=gen, device=state.device)
        loss = loss + triplet_loss(state, features[targets], features[pool.gather(1, pick)[:, 0]], scale, margin)
    return loss, negatives
