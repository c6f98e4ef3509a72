"""Train the relative captioner on the train split's caption corpus.

    python -m simulators.build captioner             # build the full catalog's captioner ahead of time
    python -m simulators.build captioner --catalog tiny   # the 64-item test catalog, tiny model, in seconds

Loss: the sum over each caption's words of -log p(correct word), averaged over captions
(teacher forcing), on the relative rows and the reused single-image rows of the corpus. Rows whose
target is one of a seeded few held-out training items form the validation set; training stops
when the validation loss has not improved for `patience` epochs and keeps the best epoch's weights.
Adam, gradient clipping, seeded through the project's seeding path; tqdm shows progress.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from simulators.cache import ArtifactCache
from simulators.captioner.model import CaptionerConfig, ImageTable, RelativeCaptioner, word_nll
from simulators.catalog.catalog import Catalog
from simulators.catalog.histograms import load_colour_table
from simulators.language.corpus import RELATIVE, Corpus
from simulators.language.vocab import EOS_ID, UNK_ID, Vocabulary
from simulators.seeding import make_rng, seed_from


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a trained captioner besides its data; a change trains a new artifact."""

    seed: int = 0
    """Seed of initialisation, the validation split, shuffling and dropout."""
    max_epochs: int = 30
    """Upper bound on passes over the training rows (early stopping usually ends sooner)."""
    patience: int = 3
    """Stop after this many epochs without a better validation loss."""
    batch_size: int = 128
    """Captions per gradient step."""
    lr: float = 2e-3
    """Adam learning rate."""
    lr_decay: float = 0.85
    """Multiply the learning rate by this after every epoch."""
    grad_clip: float = 5.0
    """Clip the gradient's global norm to this."""
    attention_penalty: float = 0.0
    """Weight of Show-Attend-and-Tell's doubly stochastic penalty sum_s (1 - sum_t alpha_ts)^2 (0: off)."""
    single_refs_per_epoch: int = 1
    """How many of each single-image caption's references an epoch uses (the corpus reuses each caption with
    several references; all of them every epoch would let outright descriptions swamp the relative captions)."""
    val_fraction: float = 0.05
    """Share of the training items held out; rows whose target is one of them validate."""
    model: CaptionerConfig = CaptionerConfig()
    """The architecture (its vocabulary and map-shape fields are filled in from the data at training time)."""
    word_dropout: float = 0.25
    """Chance that a teacher-forced input word is replaced by <unk>, so the decoder must look at the images."""
    colour_bins: int = 8
    """Bins per RGB channel of the colour histogram each image is read with beside its CNN maps (8: 512 bins;
    0: the CNN maps only, as in the paper). World v2's 25 colours need it: docs/results/captioner.md."""

    def __post_init__(self) -> None:
        if not 0.0 < self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in (0, 1), got {self.val_fraction}")
        if min(self.max_epochs, self.batch_size, self.patience, self.single_refs_per_epoch) < 1:
            raise ValueError("max_epochs, batch_size, patience and single_refs_per_epoch must be positive")
        if self.colour_bins == 1 or self.colour_bins < 0:
            raise ValueError(f"colour_bins must be 0 (no colour histograms) or at least 2, got {self.colour_bins}")

    @classmethod
    def tiny(cls, **overrides: Any) -> TrainConfig:
        """A small model trained for 3 epochs: seconds on a tiny catalog (tests, smoke runs)."""
        model = CaptionerConfig(embed_dim=16, hidden_dim=32, attention_dim=16, global_dim=32)
        return cls(**{"max_epochs": 3, "batch_size": 64, "model": model, "lr": 5e-3, "colour_bins": 4, **overrides})

    def model_config(self, vocabulary: Vocabulary, catalog: Catalog) -> CaptionerConfig:
        """The architecture for this config over `catalog`'s spatial maps and colour histograms and `vocabulary`."""
        _, locations, channels = catalog.spatial.shape
        return self.model.for_data(len(vocabulary), channels, locations, self.colour_bins**3 if self.colour_bins else 0)


def load_image_table(catalog: Catalog, config: CaptionerConfig, device: str | torch.device = "cpu",
                     cache: ArtifactCache | None = None, progress: bool = False) -> ImageTable:
    """Every item of `catalog` as a captioner of `config` sees it: spatial maps, and the colour histograms
    (built and cached on first use) when it reads them."""
    colours = None
    if config.colour_dim:
        bins = round(config.colour_dim ** (1 / 3))
        if bins**3 != config.colour_dim:
            raise ValueError(f"colour_dim {config.colour_dim} is not a cube of a bin count")
        colours = load_colour_table(catalog, bins, cache, progress=progress)
    return ImageTable(catalog.spatial, colours, device)


@dataclass
class CaptionData:
    """Corpus rows as tensors: catalog ids of targets and references, and (M, max_len + 1) token ids."""

    target_ids: np.ndarray
    reference_ids: np.ndarray
    tokens: torch.Tensor
    """<bos> words <eos> <pad>...; inputs are tokens[:, :-1], the words to predict tokens[:, 1:]."""
    group: np.ndarray
    """(M,) int64: rows that reuse one single-image caption share a group id; each relative row is its own group."""

    def __len__(self) -> int:
        return len(self.target_ids)

    def subset(self, rows: np.ndarray) -> CaptionData:
        return CaptionData(self.target_ids[rows], self.reference_ids[rows], self.tokens[torch.as_tensor(rows)],
                           self.group[rows])

    def epoch_size(self, per_group: int) -> int:
        return int(np.minimum(np.bincount(self.group), per_group).sum())

    def epoch_rows(self, rng: np.random.Generator, per_group: int) -> np.ndarray:
        """A shuffled epoch: every relative row, and up to `per_group` random rows of each single-caption group."""
        keys = rng.random(len(self))
        order = np.lexsort((keys, self.group))  # by group, random within a group
        sorted_groups = self.group[order]
        first = np.searchsorted(sorted_groups, sorted_groups, side="left")
        rank = np.arange(len(order)) - first  # position within its group
        return rng.permutation(order[rank < per_group])


def caption_data(corpus: Corpus, vocabulary: Vocabulary, max_len: int) -> CaptionData:
    tokens = vocabulary.encode(corpus.captions, max_len=max_len + 1, bos=True, eos=True)
    keys = [(int(t), c) if k != RELATIVE else (-1 - row, "")
            for row, (t, c, k) in enumerate(zip(corpus.target_ids, corpus.captions, corpus.kind, strict=True))]
    index: dict[tuple[int, str], int] = {}
    group = np.array([index.setdefault(key, len(index)) for key in keys], dtype=np.int64)
    return CaptionData(corpus.target_ids.copy(), corpus.reference_ids.copy(), torch.from_numpy(tokens), group)


def split_validation(data: CaptionData, seed: int, fraction: float) -> tuple[CaptionData, CaptionData]:
    """(train, validation) rows: validation rows are those whose target is a held-out item."""
    items = np.unique(data.target_ids)
    n_val = max(1, int(round(fraction * len(items))))
    held = make_rng(seed, "captioner", "validation").choice(items, n_val, replace=False)
    is_val = np.isin(data.target_ids, held)
    if is_val.all():
        raise ValueError("every row would be a validation row; use more items or a smaller val_fraction")
    return data.subset(np.flatnonzero(~is_val)), data.subset(np.flatnonzero(is_val))


def batch_loss(model: RelativeCaptioner, images: ImageTable, data: CaptionData, rows: np.ndarray,
               attention_penalty: float = 0.0, word_dropout: float = 0.0) -> tuple[torch.Tensor, int]:
    """(loss, words) of rows: summed word NLL per caption averaged over the rows, plus the attention penalty."""
    tokens = data.tokens[torch.as_tensor(rows)]
    length = int((tokens != 0).sum(dim=1).max())  # trim padding columns the whole batch shares
    tokens = tokens[:, :length].to(images.device)
    inputs, targets = tokens[:, :-1], tokens[:, 1:]  # (B, T)
    if word_dropout:
        drop = (torch.rand(inputs.shape, device=inputs.device) < word_dropout) & (inputs > EOS_ID)
        inputs = inputs.masked_fill(drop, UNK_ID)
    target, reference, colours = images.pair(data.target_ids[rows], data.reference_ids[rows])
    logits, alphas = model(target, reference, inputs, colours)  # (B, T, V), (B, T, S')
    loss = word_nll(logits, targets)
    if attention_penalty:
        mask = (targets != 0).unsqueeze(-1).float()  # (B, T, 1)
        coverage = (alphas * mask).sum(dim=1)  # (B, S)
        loss = loss + attention_penalty * ((1.0 - coverage) ** 2).sum(dim=1).mean()
    return loss, int((targets != 0).sum())


@torch.no_grad()
def evaluate_nll(model: RelativeCaptioner, images: ImageTable, data: CaptionData, batch_size: int = 512) -> float:
    """Mean summed word NLL per caption over all rows of `data` (no dropout)."""
    was_training = model.training
    model.eval()
    total = 0.0
    for start in range(0, len(data), batch_size):
        rows = np.arange(start, min(start + batch_size, len(data)))
        loss, _ = batch_loss(model, images, data, rows)
        total += float(loss) * len(rows)
    model.train(was_training)
    return total / max(1, len(data))


def feature_stats(catalog: Catalog) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std of the spatial maps over the train split's items and locations."""
    maps = catalog.spatial[catalog.train_ids].astype(np.float32)  # (N_train, S, C)
    flat = maps.reshape(-1, maps.shape[-1])
    return flat.mean(axis=0), flat.std(axis=0)


def train_captioner(catalog: Catalog, corpus: Corpus, vocabulary: Vocabulary, config: TrainConfig | None = None,
                    device: str | torch.device = "cpu", progress: bool = True, max_steps: int | None = None,
                    cache: ArtifactCache | None = None) -> tuple[RelativeCaptioner, dict[str, Any]]:
    """Train a captioner; returns (the best-validation model in eval mode, history).

    `max_steps` stops after that many gradient steps (for smoke tests); the global torch random
    state is left as it was. The colour histograms (if the config reads them) come from `cache`.
    """
    config = config or TrainConfig()
    device = torch.device(device)
    model_config = config.model_config(vocabulary, catalog)
    data = caption_data(corpus, vocabulary, model_config.max_len)
    train, val = split_validation(data, config.seed, config.val_fraction)
    images = load_image_table(catalog, model_config, device, cache, progress)
    order_rng = make_rng(config.seed, "captioner", "shuffle")
    t0 = time.perf_counter()
    history: dict[str, Any] = {"train_rows": len(train), "val_rows": len(val), "epochs": []}
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed_from(make_rng(config.seed, "captioner", "torch")))
        model = RelativeCaptioner(model_config)
        model.set_feature_stats(*feature_stats(catalog))
        model.to(device).train()
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
        scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=config.lr_decay)
        best_val, best_state, best_epoch, stale, steps = math.inf, None, -1, 0, 0
        history["initial_val_nll"] = evaluate_nll(model, images, val)
        steps_per_epoch = math.ceil(train.epoch_size(config.single_refs_per_epoch) / config.batch_size)
        # Two bars that only promise what they know: epochs counted without a total (early stopping decides
        # how many), with the best validation figure and how many more stale epochs end training; and the
        # batches of the current epoch, whose total and ETA are exact.
        epochs_bar = tqdm(total=None, desc="captioner epochs", unit="epoch", disable=not progress)
        for epoch in range(config.max_epochs):
            bar = tqdm(total=steps_per_epoch, desc=f"captioner epoch {epoch + 1}", unit="batch", leave=False,
                       disable=not progress)
            order = train.epoch_rows(order_rng, config.single_refs_per_epoch)
            running, seen = 0.0, 0
            for start in range(0, len(order), config.batch_size):
                rows = order[start : start + config.batch_size]
                loss, _ = batch_loss(model, images, train, rows, config.attention_penalty, config.word_dropout)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
                optimizer.step()
                running += loss.item() * len(rows)
                seen += len(rows)
                steps += 1
                bar.update(1)
                bar.set_postfix(loss=f"{running / seen:.2f}")
                if max_steps is not None and steps >= max_steps:
                    break
            bar.close()
            scheduler.step()
            val_nll = evaluate_nll(model, images, val)
            history["epochs"].append({"epoch": epoch, "train_nll": running / max(1, seen), "val_nll": val_nll,
                                      "seconds": round(time.perf_counter() - t0, 1)})
            if val_nll < best_val - 1e-4:
                best_val, best_state, best_epoch, stale = val_nll, copy.deepcopy(model.state_dict()), epoch, 0
            else:
                stale += 1
            epochs_bar.update(1)
            epochs_bar.set_postfix(val=f"{val_nll:.3f}", best=f"{best_val:.3f} (epoch {best_epoch + 1})",
                                   stops_after=f"{config.patience - stale} more without improvement")
            if stale >= config.patience or (max_steps is not None and steps >= max_steps):
                break
        epochs_bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    history.update({"best_epoch": best_epoch, "best_val_nll": best_val, "steps": steps,
                    "train_seconds": round(time.perf_counter() - t0, 1), "device": str(device),
                    "torch_threads": torch.get_num_threads()})
    return model.eval(), history
