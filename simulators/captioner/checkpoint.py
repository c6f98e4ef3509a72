"""Trained-captioner files: safetensors weights plus the facts needed to refuse the wrong catalog or vocabulary.

A checkpoint is an artifact directory of the artifact cache (kind "captioner") holding
`weights.safetensors` (tensors only, never pickle; its header repeats the metadata) and
`training.json` (the training history). The manifest's meta names the catalog, the vocabulary's
content hash and the model config; `read_checkpoint` verifies every file's checksum and then
refuses weights that were trained on another catalog or another vocabulary, since word ids and
spatial maps would silently mean something else.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from simulators.cache import CorruptArtifactError, save_json, verify_artifact
from simulators.captioner.model import CaptionerConfig, RelativeCaptioner
from simulators.catalog.catalog import Catalog
from simulators.language.vocab import Vocabulary

KIND = "captioner"
WEIGHTS = "weights.safetensors"
HISTORY = "training.json"
FORMAT = "relative-captioner-v1"


class CheckpointMismatchError(ValueError):
    """A captioner checkpoint was trained for another catalog or vocabulary than the one given."""


def write_checkpoint(directory: Path, model: RelativeCaptioner, catalog: Catalog, vocabulary: Vocabulary,
                     history: dict[str, Any], extra_meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """Save weights and history into `directory`; returns the meta for the artifact manifest."""
    meta = {"format": FORMAT, "catalog": catalog.name, "vocabulary_sha256": vocabulary.content_hash,
            "model": model.config.to_dict(), **(extra_meta or {})}
    header = {"format": FORMAT, "catalog": catalog.name, "vocabulary_sha256": vocabulary.content_hash,
              "model": json.dumps(model.config.to_dict(), sort_keys=True)}
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(directory / WEIGHTS), metadata=header)
    save_json(directory, HISTORY, history)
    return meta


def read_checkpoint(path: str | Path, catalog: Catalog, vocabulary: Vocabulary,
                    device: str | torch.device = "cpu") -> tuple[RelativeCaptioner, dict[str, Any]]:
    """(model in eval mode on `device`, manifest meta) of the captioner artifact at `path`.

    Raises CorruptArtifactError for a damaged or altered file and CheckpointMismatchError when the
    checkpoint belongs to another catalog or vocabulary.
    """
    path = Path(path)
    art = verify_artifact(path, kind=KIND)
    meta = art.meta
    if meta.get("format") != FORMAT:
        raise CorruptArtifactError(f"{path} is not a {FORMAT} checkpoint (format {meta.get('format')!r})")
    _check_match(path, meta, catalog, vocabulary)
    try:
        state = load_file(str(art.file(WEIGHTS)), device="cpu")
        with safe_open(str(art.file(WEIGHTS)), framework="pt") as f:
            header = f.metadata() or {}
    except (SafetensorError, ValueError, OSError) as err:
        raise CorruptArtifactError(f"{path / WEIGHTS} is not a readable safetensors file ({err})") from None
    _check_match(path / WEIGHTS, header, catalog, vocabulary)
    config = CaptionerConfig(**meta["model"])
    if json.loads(header.get("model", "null")) != config.to_dict():
        raise CorruptArtifactError(f"{path / WEIGHTS} header and manifest disagree on the model config")
    n, s, c = catalog.spatial.shape
    if (config.vocab_size, config.locations, config.channels) != (len(vocabulary), s, c):
        raise CheckpointMismatchError(
            f"captioner at {path} expects {config.vocab_size} words and {config.locations}x{config.channels} spatial "
            f"maps; the catalog/vocabulary give {len(vocabulary)} words and {s}x{c} maps")
    model = RelativeCaptioner(config)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise CorruptArtifactError(f"{path / WEIGHTS} does not fit the RelativeCaptioner ({err})") from None
    return model.to(device).eval(), meta


def _check_match(where: Path, meta: dict[str, Any], catalog: Catalog, vocabulary: Vocabulary) -> None:
    if meta.get("catalog") != catalog.name:
        raise CheckpointMismatchError(
            f"captioner {where} was trained on catalog {meta.get('catalog')!r}, not on {catalog.name!r}; "
            "train one for this catalog (python -m simulators.captioner.train) instead of reusing it")
    if meta.get("vocabulary_sha256") != vocabulary.content_hash:
        raise CheckpointMismatchError(
            f"captioner {where} was trained with vocabulary {str(meta.get('vocabulary_sha256'))[:12]}..., but this "
            f"catalog's vocabulary is {vocabulary.content_hash[:12]}...; its word ids would mean other words")
