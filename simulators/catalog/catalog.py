"""The catalog the environment runs in: items, split, attributes and CNN features, behind one interface.

`Catalog` is a plain container that the environment, the users and the agents read; it does not
care where the arrays came from. `build_synthshoes` makes the embedded SynthShoes catalog
(sample parameters, render, run the fixed ImageNet CNN, fit projections on the train split) and
stores it in the artifact cache; `load_synthshoes` returns it from there, building it on first use.
A real catalog (the Shoes photos, Fashion IQ; `simulators.datasets`) fills the same fields from image and
caption files, with its images' names and files instead of generative parameters.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simulators.cache import Artifact, ArtifactCache, save_array, save_json
from simulators.catalog.attributes import ATTRIBUTES, compute_attributes
from simulators.catalog.params import ALL_COLUMNS, CATEGORIES, ShoeParams, sample_params, validate_params
from simulators.seeding import make_rng

SPLITS = ("train", "test")
PAPER_SIZE = (14_658, 10_000)


@dataclass(frozen=True)
class CatalogConfig:
    """Everything that determines a built catalog; a change builds a new artifact."""

    seed: int = 0
    """Seed of the parameters, the split and the render jitter."""
    n_items: int = PAPER_SIZE[0]
    """Catalog size (the Shoes dataset has 14,658 images)."""
    n_train: int = PAPER_SIZE[1]
    """Items in the train split; the rest are the test split (10,000 / 4,658 in the paper)."""
    image_size: int = 128
    """Rendered image side in pixels."""
    backbone: str = "efficientnet-lite0"
    """Fixed ImageNet-pretrained CNN: "efficientnet-lite0" (offline) or "resnet101" (torchvision)."""
    feature_dim: int = 256
    """Dimension D of the retrieval space (PCA of pooled CNN features, fitted on train images)."""
    spatial_channels: int = 96
    """Channels of the CNN's last map kept per location of the spatial map the captioner attends over."""
    detail_channels: int = 64
    """Channels of an earlier, finer map (colours, the outsole) appended per location; 0 leaves it out."""
    batch_size: int = 64
    """Images per CNN forward pass while building (does not change the result)."""
    render_version: int = 3
    """Bumped whenever the renderer's drawing changes, so stale features are never reused."""

    def __post_init__(self) -> None:
        if not 0 < self.n_train < self.n_items:
            raise ValueError(f"need 0 < n_train < n_items, got n_train={self.n_train}, n_items={self.n_items}")
        if self.image_size < 32:
            raise ValueError(f"image_size must be at least 32 pixels, got {self.image_size}")
        if self.spatial_channels < 1 or self.detail_channels < 0:
            raise ValueError(f"need spatial_channels >= 1 and detail_channels >= 0, got {self.spatial_channels} "
                             f"and {self.detail_channels}")
        if self.feature_dim < 2 or self.feature_dim > self.n_train:
            raise ValueError(f"feature_dim must be in [2, n_train], got {self.feature_dim}")

    @classmethod
    def tiny(cls, **overrides: Any) -> CatalogConfig:
        """A 64-item catalog at 64x64 pixels for tests and quick experiments."""
        base = {"n_items": 64, "n_train": 48, "image_size": 64, "feature_dim": 32, "spatial_channels": 16,
                "detail_channels": 8}
        return cls(**{**base, **overrides})

    @property
    def map_channels(self) -> int:
        """Channels per location of the catalog's spatial maps."""
        return self.spatial_channels + self.detail_channels

    def cache_key_fields(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "batch_size"}


@dataclass
class Catalog:
    """Items with their split, attributes and features. Index i always means catalog item i."""

    name: str
    features: np.ndarray
    """(N, D) float32 retrieval vectors: the space every query lives in."""
    spatial: np.ndarray
    """(N, S, C) float16 spatial CNN map (S locations) for the captioner's attention."""
    attributes: np.ndarray
    """(N, 10) float32 WhittleSearch attribute scores in [0, 1] (see ATTRIBUTES); all NaN for a catalog that has
    none (a real catalog built without an attribute file: see `has_attributes`)."""
    train_ids: np.ndarray
    test_ids: np.ndarray
    params: ShoeParams | None = None
    """Ground-truth generative parameters (synthetic catalogs only)."""
    config: CatalogConfig | None = None
    projection: dict[str, np.ndarray] = field(default_factory=dict)
    """State of the PCA that maps pooled CNN features into the retrieval space."""
    path: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    item_names: tuple[str, ...] | None = None
    """Each item's image name in its dataset's files (real catalogs; None for SynthShoes)."""
    image_files: tuple[str, ...] | None = None
    """Each item's image file, which `render` reads (real catalogs; None for SynthShoes)."""

    def __post_init__(self) -> None:
        n = len(self.features)
        if self.features.ndim != 2 or self.spatial.shape[0] != n or self.attributes.shape != (n, len(ATTRIBUTES)):
            raise ValueError("catalog arrays disagree on the number of items")
        ids = np.concatenate([self.train_ids, self.test_ids])
        if len(np.unique(ids)) != len(ids) or (len(ids) and (ids.min() < 0 or ids.max() >= n)):
            raise ValueError("train and test ids must be distinct catalog indices")
        if self.params is not None and validate_params(self.params) != n:
            raise ValueError("parameter table length differs from the number of items")
        for what, column in (("item_names", self.item_names), ("image_files", self.image_files)):
            if column is not None and len(column) != n:
                raise ValueError(f"{what} has {len(column)} entries for {n} items")

    def __len__(self) -> int:
        return len(self.features)

    @property
    def feature_dim(self) -> int:
        return self.features.shape[1]

    def split_ids(self, split: str) -> np.ndarray:
        """Catalog indices of a split ("train" or "test"), in a fixed order."""
        if split == "train":
            return self.train_ids
        if split == "test":
            return self.test_ids
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")

    @property
    def has_attributes(self) -> bool:
        """Whether every item has attribute scores (what the attribute users speak from)."""
        return bool(len(self.attributes)) and not np.isnan(self.attributes).any()

    def render(self, ids: int | np.ndarray, size: int | None = None) -> np.ndarray:
        """Items' images as uint8 RGB: (H, W, 3) for one id, (B, H, W, 3) for many; rendered from the generative
        parameters (SynthShoes) or read from the image files (a real catalog)."""
        size = size or int(getattr(self.config, "image_size", 0) or self.meta.get("image_size", 128))
        batch = np.atleast_1d(np.asarray(ids, dtype=np.int64))
        if self.params is not None:
            from simulators.catalog.render import render_batch

            images = render_batch(self.params, batch, size=size)
        elif self.image_files is not None:
            from simulators.catalog.images import load_images

            images = load_images([Path(self.image_files[i]) for i in batch], size)
        else:
            raise ValueError(f"catalog {self.name!r} has neither generative parameters nor image files to show")
        return images[0] if np.ndim(ids) == 0 else images

    def category_counts(self, split: str | None = None) -> dict[str, int]:
        if self.params is None:
            return {}
        ids = np.arange(len(self)) if split is None else self.split_ids(split)
        counts = np.bincount(self.params["category"][ids].astype(int), minlength=len(CATEGORIES))
        return {c: int(k) for c, k in zip(CATEGORIES, counts, strict=True)}


def split_items(n_items: int, n_train: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random train/test split, each sorted so index order is stable."""
    perm = make_rng(seed, "catalog", "split").permutation(n_items)
    return np.sort(perm[:n_train]), np.sort(perm[n_train:])


KIND = "synthshoes"


def load_synthshoes(config: CatalogConfig | None = None, cache: ArtifactCache | None = None,
                    device: str = "cpu", progress: bool = True, on_corrupt: str = "rebuild") -> Catalog:
    """The SynthShoes catalog for `config`, from the artifact cache, built there on first use.

    Within a process, a catalog still in use is handed out again instead of being read and
    checksummed anew, as long as its files are unchanged on disk (same names, sizes and
    modification times): N environments of one vector env share one catalog's memory. Treat
    catalogs as read-only.
    """
    config = config or CatalogConfig()
    cache = cache or ArtifactCache()
    key = (str(cache.root.resolve()), config)
    stamps, ref = _IN_USE.get(key, ((), None))
    catalog = ref() if ref is not None else None
    if catalog is not None and catalog.path is not None and _file_stamps(catalog.path) == stamps:
        return catalog
    art = cache.load_or_build(KIND, config.cache_key_fields(),
                              lambda staging: _build_into(staging, config, device, progress),
                              on_corrupt=on_corrupt)
    catalog = _from_artifact(art, config)
    _IN_USE[key] = (_file_stamps(art.path), weakref.ref(catalog))
    return catalog


_IN_USE: dict[tuple[str, CatalogConfig], tuple[tuple, weakref.ref]] = {}
"""(cache root, config) -> (file stamps when loaded, weak reference to the loaded catalog)."""


def _file_stamps(path: Path) -> tuple[tuple[str, int, int], ...]:
    return tuple(sorted((f.name, st.st_size, st.st_mtime_ns) for f in path.iterdir() if f.is_file()
                        for st in (f.stat(),)))


def _build_into(staging: Path, config: CatalogConfig, device: str, progress: bool) -> dict[str, Any]:
    from simulators.catalog.features import FeatureConfig, extract_catalog_features
    from simulators.catalog.render import render_batch

    t0 = time.perf_counter()
    params = sample_params(config.n_items, config.seed)
    attributes = compute_attributes(params)
    train_ids, test_ids = split_items(config.n_items, config.n_train, config.seed)
    t_sample = time.perf_counter() - t0
    feature_config = FeatureConfig(backbone=config.backbone, retrieval_dim=config.feature_dim,
                                   spatial_dim=config.spatial_channels, detail_dim=config.detail_channels,
                                   batch_size=config.batch_size)
    feats = extract_catalog_features(lambda ids: render_batch(params, ids, size=config.image_size),
                                     config.n_items, train_ids, feature_config, device=device, progress=progress)

    for name in ALL_COLUMNS:
        save_array(staging, f"param_{name}", params[name])
    save_array(staging, "attributes", attributes)
    save_array(staging, "features", feats.retrieval)
    save_array(staging, "spatial", feats.spatial)
    save_array(staging, "train_ids", train_ids)
    save_array(staging, "test_ids", test_ids)
    for key, value in feats.pooled_pca.state_dict().items():
        save_array(staging, f"projection_{key}", value)
    meta = {
        "build_seconds": round(time.perf_counter() - t0, 1),
        "sample_seconds": round(t_sample, 2),
        "device": device,
        "spatial_shape": list(feats.spatial.shape[1:]),
    }
    save_json(staging, "build.json", meta)
    return meta


def _from_artifact(art: Artifact, config: CatalogConfig) -> Catalog:
    params = {name: art.array(f"param_{name}") for name in ALL_COLUMNS}
    projection = {f.removeprefix("projection_").removesuffix(".npy"): art.array(f.removesuffix(".npy"))
                  for f in art.manifest["files"] if f.startswith("projection_")}
    return Catalog(
        name=f"synthshoes-{art.path.name}",
        features=art.array("features"),
        spatial=art.array("spatial"),
        attributes=art.array("attributes"),
        train_ids=art.array("train_ids"),
        test_ids=art.array("test_ids"),
        params=params,
        config=config,
        projection=projection,
        path=art.path,
        meta=art.meta,
    )

