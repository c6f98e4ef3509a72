"""The CNN feature extractor and the PCA projections fitted on training images."""

from __future__ import annotations

import builtins

import numpy as np
import pytest
import torch

from simulators.catalog.features import (
    FeatureConfig,
    FeatureExtractor,
    PCAProjection,
    extract_catalog_features,
    project_spatial,
)
from simulators.catalog.params import sample_params
from simulators.catalog.render import render_batch

SIZE = 64


@pytest.fixture(scope="module")
def extractor() -> FeatureExtractor:
    return FeatureExtractor("efficientnet-lite0", "cpu")


@pytest.fixture(scope="module")
def catalog():
    params = sample_params(24, seed=1)
    return params, render_batch(params, np.arange(24), SIZE)


def test_extract_shapes_and_dtypes(extractor, catalog):
    _, images = catalog
    pooled, spatial = extractor.extract(images[:5])
    assert pooled.shape == (5, 1280) and pooled.dtype == np.float32
    assert spatial.shape == (5, 1280 + 80, 2, 2) and spatial.dtype == np.float32  # last map, then detail map
    np.testing.assert_allclose(pooled, spatial[:, :1280].mean(axis=(2, 3)), rtol=1e-5, atol=1e-6)
    assert np.isfinite(pooled).all()


def test_extract_is_deterministic_and_batch_independent(extractor, catalog):
    _, images = catalog
    a, _ = extractor.extract(images[:6])
    b, _ = extractor.extract(images[:6])
    assert np.array_equal(a, b)
    c, _ = extractor.extract(images[3:4])
    np.testing.assert_allclose(a[3:4], c, rtol=1e-4, atol=1e-5)


def test_different_images_give_different_features(extractor, catalog):
    _, images = catalog
    pooled, _ = extractor.extract(images[:8])
    dist = np.linalg.norm(pooled[:, None] - pooled[None], axis=-1)
    assert (dist[~np.eye(8, dtype=bool)] > 1e-3).all()


def test_extract_rejects_bad_input(extractor):
    with pytest.raises(ValueError):
        extractor.extract(np.zeros((2, 32, 32, 3), np.float32))
    with pytest.raises(ValueError):
        extractor.extract(np.zeros((32, 32, 3), np.uint8))


def test_extract_all_sources_agree(extractor, catalog):
    params, images = catalog
    ref, _ = extractor.extract(images[:10])
    from_array, none = extractor.extract_all(images[:10], batch_size=4, progress=False)
    assert none is None
    from_fn, maps = extractor.extract_all(lambda idx: render_batch(params, idx, SIZE), n=10, batch_size=3,
                                          progress=False, spatial=lambda s: s.shape[-1] * np.ones(len(s)))
    from_iter, _ = extractor.extract_all(iter([images[:7], images[7:10]]), progress=False)
    for got in (from_array, from_fn, from_iter):
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5)
    assert maps.shape == (10,)


def test_unknown_backbone():
    with pytest.raises(ValueError, match="unknown backbone"):
        FeatureExtractor("vgg16")


def test_resnet_without_torchvision_says_what_to_install(monkeypatch):
    real_import = builtins.__import__

    def no_torchvision(name, *args, **kwargs):
        if name == "torchvision" or name.startswith("torchvision."):
            raise ImportError("No module named 'torchvision'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_torchvision)
    with pytest.raises(ImportError, match="pip install torchvision"):
        FeatureExtractor("resnet101")


def test_pca_fit_transform_and_state_dict():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 12)).astype(np.float32) @ rng.normal(size=(12, 12)).astype(np.float32)
    pca = PCAProjection.fit(x, 5)
    z = pca.transform(x)
    assert z.shape == (200, 5) and z.dtype == np.float32
    np.testing.assert_allclose(pca.components @ pca.components.T, np.eye(5), atol=1e-5)
    assert (np.diff(pca.explained_variance) <= 1e-6).all()
    np.testing.assert_allclose(z.var(axis=0, ddof=1), pca.explained_variance, rtol=1e-3)
    again = PCAProjection.from_state_dict({k: v.copy() for k, v in pca.state_dict().items()})
    assert np.array_equal(again.transform(x), z)
    zt = pca.transform(torch.from_numpy(x))
    assert torch.is_tensor(zt)
    np.testing.assert_allclose(zt.numpy(), z, rtol=1e-5, atol=1e-5)
    full = PCAProjection.fit(x, 12)
    np.testing.assert_allclose(full.inverse_transform(full.transform(x)), x, rtol=1e-3, atol=1e-3)


def test_pca_rejects_bad_shapes():
    with pytest.raises(ValueError):
        PCAProjection.fit(np.zeros((10, 4)), 5)
    with pytest.raises(ValueError):
        PCAProjection.from_state_dict({"mean": np.zeros(3), "components": np.zeros((2, 4)),
                                       "explained_variance": np.zeros(2)})


def test_project_spatial_shape(extractor, catalog):
    _, images = catalog
    _, spatial = extractor.extract(images[:6])
    locations = spatial.transpose(0, 2, 3, 1).reshape(-1, 1360)
    proj = PCAProjection.fit(locations, 8)
    out = project_spatial(spatial, proj)
    assert out.shape == (6, 4, 8)
    np.testing.assert_allclose(out[2, 1], proj.transform(spatial[2, :, 0, 1]), rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError):
        project_spatial(spatial[:, :10], proj)
    # two projections reduce consecutive channel blocks and are concatenated
    last, detail = PCAProjection.fit(locations[:, :1280], 5), PCAProjection.fit(locations[:, 1280:], 3)
    both = project_spatial(spatial, [last, detail])
    assert both.shape == (6, 4, 8)
    np.testing.assert_allclose(both[2, 1], np.concatenate([last.transform(spatial[2, :1280, 0, 1]),
                                                           detail.transform(spatial[2, 1280:, 0, 1])]),
                               rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="1360"):
        project_spatial(spatial[:, :1280], [last, detail])


def test_catalog_features_fit_on_train_only(extractor, catalog):
    params, images = catalog
    train = np.arange(4, 20)
    cfg = FeatureConfig(retrieval_dim=6, spatial_dim=5, detail_dim=3, spatial_fit_items=7, batch_size=5)
    feats = extract_catalog_features(lambda idx: images[idx], 24, train, cfg, progress=False, extractor=extractor)
    assert feats.retrieval.shape == (24, 6) and feats.retrieval.dtype == np.float32
    assert feats.spatial.shape == (24, 4, 5 + 3) and feats.spatial.dtype == np.float16
    pooled, spatial = extractor.extract(images)
    np.testing.assert_allclose(feats.pooled_pca.mean, pooled[train].mean(0), rtol=1e-4, atol=1e-5)
    fit_locations = spatial[train[:7]].transpose(0, 2, 3, 1).reshape(-1, 1360)
    np.testing.assert_allclose(feats.spatial_pca.mean, fit_locations[:, :1280].mean(0), rtol=1e-3, atol=1e-4)
    # the detail block's fit maps are held in float16 until the fit
    np.testing.assert_allclose(feats.detail_pca.mean, fit_locations[:, 1280:].mean(0), rtol=2e-3, atol=1e-3)
    np.testing.assert_allclose(feats.retrieval, feats.pooled_pca.transform(pooled), rtol=1e-3, atol=1e-3)
    expect = project_spatial(spatial, [feats.spatial_pca, feats.detail_pca])
    np.testing.assert_allclose(feats.spatial.astype(np.float32), expect, rtol=2e-2, atol=2e-2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu(extractor, catalog):
    _, images = catalog
    gpu = FeatureExtractor("efficientnet-lite0", "cuda")
    cpu_pooled, cpu_spatial = extractor.extract(images[:8])
    gpu_pooled, gpu_spatial = gpu.extract(images[:8])
    np.testing.assert_allclose(gpu_pooled, cpu_pooled, rtol=1e-3, atol=1e-3)
    cpu_pca = PCAProjection.fit(cpu_pooled, 4)
    gpu_pca = PCAProjection.fit(torch.from_numpy(cpu_pooled).cuda(), 4)
    np.testing.assert_allclose(gpu_pca.components, cpu_pca.components, rtol=1e-3, atol=1e-3)
