import gc

import numpy as np
import pytest

from simulators.cache import ArtifactCache, CorruptArtifactError
from simulators.catalog.attributes import ATTRIBUTES, compute_attributes
from simulators.catalog.catalog import Catalog, CatalogConfig, load_synthshoes, split_items
from simulators.catalog.params import CAPTIONED_COLUMNS, CATEGORIES, sample_params, validate_params


def test_params_deterministic_and_prefix_stable():
    a, b, c = sample_params(50, seed=3), sample_params(50, seed=3), sample_params(80, seed=3)
    for col in a:
        np.testing.assert_array_equal(a[col], b[col])
        np.testing.assert_array_equal(a[col], c[col][:50])
    assert any(not np.array_equal(a[col], sample_params(50, seed=4)[col]) for col in a)
    assert validate_params(a) == 50


def test_params_respect_the_schema():
    p = sample_params(400, seed=0)
    for name, kind in CAPTIONED_COLUMNS.items():
        if isinstance(kind, tuple):
            assert p[name].min() >= 0 and p[name].max() < len(kind)
    assert set(np.unique(p["category"])) == set(range(len(CATEGORIES)))
    flat = p["heel_shape"] == 0
    assert (p["heel_height"][flat] <= 1.0 + 1e-6).all()
    with pytest.raises(ValueError, match="missing"):
        validate_params({k: v for k, v in p.items() if k != "laces"})


def test_attributes_in_unit_interval_and_deterministic():
    p = sample_params(300, seed=1)
    a = compute_attributes(p)
    assert a.shape == (300, len(ATTRIBUTES)) and a.dtype == np.float32
    assert (a >= 0).all() and (a <= 1).all()
    np.testing.assert_array_equal(a, compute_attributes(sample_params(300, seed=1)))
    heel = ATTRIBUTES.index("high-at-the-heel")
    stilettos = p["category"] == CATEGORIES.index("stilettos")
    athletic = p["category"] == CATEGORIES.index("athletic shoes")
    assert a[stilettos, heel].mean() > a[athletic, heel].mean() + 0.4


def test_split_is_seeded_and_disjoint():
    tr, te = split_items(100, 70, seed=0)
    assert len(tr) == 70 and len(te) == 30 and not set(tr) & set(te)
    np.testing.assert_array_equal(tr, split_items(100, 70, seed=0)[0])


def test_tiny_catalog_built_through_the_pipeline(tiny_catalog):
    cfg = CatalogConfig.tiny()
    assert len(tiny_catalog) == cfg.n_items
    assert tiny_catalog.features.shape == (cfg.n_items, cfg.feature_dim)
    assert tiny_catalog.spatial.dtype == np.float16 and tiny_catalog.spatial.shape[2] == cfg.map_channels
    assert np.isfinite(tiny_catalog.features).all()
    assert tiny_catalog.render(0).shape == (cfg.image_size, cfg.image_size, 3)
    assert sum(tiny_catalog.category_counts().values()) == cfg.n_items
    with pytest.raises(ValueError, match="split"):
        tiny_catalog.split_ids("validation")


def test_catalog_reload_is_identical_and_corruption_is_detected(tmp_path):
    cache = ArtifactCache(tmp_path)
    cfg = CatalogConfig.tiny(n_items=24, n_train=16, feature_dim=8, spatial_channels=4, image_size=48)
    first = load_synthshoes(cfg, cache=cache, progress=False)
    again = load_synthshoes(cfg, cache=cache, progress=False)
    assert again is first  # still in use: shared, not read again
    assert first.path == again.path
    del again
    first_path, first_features = first.path, first.features.copy()
    del first
    gc.collect()
    reread = load_synthshoes(cfg, cache=cache, progress=False)  # no longer in use: read and verified again
    np.testing.assert_array_equal(reread.features, first_features)
    assert reread.path == first_path
    first = reread

    features = first.path / "features.npy"
    features.write_bytes(features.read_bytes()[: features.stat().st_size // 2])
    with pytest.raises(CorruptArtifactError, match="truncated"):
        load_synthshoes(cfg, cache=cache, on_corrupt="raise")
    with pytest.warns(UserWarning, match="rebuilding"):
        rebuilt = load_synthshoes(cfg, cache=cache, progress=False)
    np.testing.assert_allclose(rebuilt.features, first.features, rtol=1e-4, atol=1e-4)

    other = load_synthshoes(CatalogConfig.tiny(n_items=24, n_train=16, feature_dim=8, spatial_channels=4,
                                               image_size=48, seed=1), cache=cache, progress=False)
    assert other.path != first.path


def test_bad_catalog_configs():
    with pytest.raises(ValueError, match="n_train"):
        CatalogConfig(n_items=10, n_train=10)
    with pytest.raises(ValueError, match="feature_dim"):
        CatalogConfig.tiny(feature_dim=1)


def test_catalog_container_checks_shapes():
    with pytest.raises(ValueError, match="distinct"):
        Catalog("x", np.zeros((4, 2), np.float32), np.zeros((4, 1, 1), np.float16),
                np.zeros((4, len(ATTRIBUTES)), np.float32), np.array([0, 1]), np.array([1, 2]))
