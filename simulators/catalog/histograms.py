"""Colour and gradient histograms of rendered items: the hand-crafted image descriptors.

Two readers use them. WhittleSearch's hand-crafted attribute estimators
(`simulators.catalog.estimators`) rank attributes from a colour and a gradient-orientation
histogram, as the original system ranked from colour and GIST features. And the relative captioner
(`simulators.captioner`) reads each image's colour histogram beside the CNN's spatial maps: the
shopper it imitates sees the shoe's colours, while the ImageNet CNN's features barely separate the
shades world v2 added (navy from blue, cream from white, bronze from brown; docs/results/captioner.md).

    table = load_colour_table(catalog)   # (N, 512) float16, built once per catalog and cached
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from simulators.cache import ArtifactCache, save_array
from simulators.catalog.catalog import Catalog
from simulators.catalog.render import WHITE

KIND = "colour-histograms"


def colour_histogram(images: np.ndarray, bins: int = 8, foreground: bool = False) -> np.ndarray:
    """(B, bins**3) float32 joint RGB histogram of uint8 images (B, H, W, 3), each row summing to 1.

    `foreground` counts only pixels that are not the renderer's white background (a row with none is all zeros).
    """
    b = len(images)
    q = (images.astype(np.int64) * bins) >> 8  # (B, H, W, 3) bin per channel
    idx = ((q[..., 0] * bins + q[..., 1]) * bins + q[..., 2]).reshape(b, -1)  # (B, H*W)
    idx += (np.arange(b) * bins**3)[:, None]
    if not foreground:
        hist = np.bincount(idx.ravel(), minlength=b * bins**3).reshape(b, bins**3)
        return (hist / idx.shape[1]).astype(np.float32)
    shoe = (images.reshape(b, -1, 3) != np.array(WHITE, dtype=images.dtype)).any(axis=-1)  # (B, H*W)
    hist = np.bincount(idx[shoe], minlength=b * bins**3).reshape(b, bins**3)
    return (hist / np.maximum(shoe.sum(axis=1, keepdims=True), 1)).astype(np.float32)


def gradient_histogram(images: np.ndarray, orientation_bins: int = 9, grid: int = 4) -> np.ndarray:
    """(B, grid*grid*orientation_bins) float32 HOG-like descriptor of uint8 images (B, H, W, 3): per cell
    of a grid x grid layout, the gradient magnitude summed by unsigned orientation, over the image's total."""
    b, h, w, _ = images.shape
    gray = images.astype(np.float32).mean(axis=-1)  # (B, H, W)
    gx = np.zeros_like(gray)
    gy = np.zeros_like(gray)
    gx[:, :, 1:-1] = gray[:, :, 2:] - gray[:, :, :-2]
    gy[:, 1:-1, :] = gray[:, 2:, :] - gray[:, :-2, :]
    magnitude = np.hypot(gx, gy)
    angle = np.mod(np.arctan2(gy, gx), np.pi)
    orient = np.minimum((angle * (orientation_bins / np.pi)).astype(np.int64), orientation_bins - 1)
    cell = (np.arange(h) * grid // h)[:, None] * grid + (np.arange(w) * grid // w)[None, :]  # (H, W)
    n_bins = grid * grid * orientation_bins
    idx = (cell[None] * orientation_bins + orient + (np.arange(b) * n_bins)[:, None, None]).ravel()
    hist = np.bincount(idx, weights=magnitude.ravel(), minlength=b * n_bins).reshape(b, n_bins)
    return (hist / (hist.sum(axis=1, keepdims=True) + 1e-6)).astype(np.float32)


def colour_table(catalog: Catalog, bins: int = 8, chunk: int = 256, progress: bool = False) -> np.ndarray:
    """(N, bins**3) float16: every item's image at the catalog's image size (what the CNN saw: rendered, or read
    from a real catalog's files), its foreground colour histogram square-rooted (the Hellinger map: small shares
    of a second colour, a sole or a trim, stay visible beside the upper's)."""
    if bins < 2:
        raise ValueError(f"bins must be at least 2, got {bins}")
    parts = []
    for start in tqdm(range(0, len(catalog), chunk), desc="colour histograms", unit="chunk", disable=not progress):
        images = catalog.render(np.arange(start, min(start + chunk, len(catalog))))
        parts.append(np.sqrt(colour_histogram(images, bins, foreground=True)).astype(np.float16))
    return np.concatenate(parts)


def load_colour_table(catalog: Catalog, bins: int = 8, cache: ArtifactCache | None = None,
                      progress: bool = False) -> np.ndarray:
    """`colour_table(catalog, bins)`, built on first use (about 2 minutes for the full catalog on two cores)
    and cached in the artifact cache under the catalog's name."""
    cache = cache or ArtifactCache()

    def write(staging: Path) -> dict[str, Any]:
        t0 = time.perf_counter()
        save_array(staging, "colours", colour_table(catalog, bins, progress=progress))
        return {"seconds": round(time.perf_counter() - t0, 1)}

    art = cache.load_or_build(KIND, {"catalog": catalog.name, "bins": bins, "version": 1}, write)
    table = art.array("colours")
    if table.shape != (len(catalog), bins**3):
        raise ValueError(f"colour histograms at {art.path} have shape {table.shape}, expected "
                         f"{(len(catalog), bins**3)} for catalog {catalog.name!r}")
    return table


__all__ = ["colour_histogram", "colour_table", "gradient_histogram", "load_colour_table"]
