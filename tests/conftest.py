"""Shared fixtures: an isolated data home and one tiny SynthShoes catalog per test session."""

from __future__ import annotations

import pytest

from simulators.cache import ArtifactCache


@pytest.fixture(autouse=True)
def _isolated_data_home(tmp_path_factory, monkeypatch):
    """No test reads or writes the user's real data home."""
    monkeypatch.setenv("SHOE_RETRIEVAL_HOME", str(tmp_path_factory.getbasetemp() / "data-home"))


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory) -> ArtifactCache:
    return ArtifactCache(tmp_path_factory.mktemp("session-cache"))


@pytest.fixture(scope="session")
def tiny_catalog(session_cache):
    """A 64-item catalog at 64x64 pixels, built once per session through the real pipeline."""
    from simulators.catalog.catalog import CatalogConfig, load_synthshoes

    return load_synthshoes(CatalogConfig.tiny(), cache=session_cache, progress=False)


@pytest.fixture(scope="session")
def tiny_captioner(tiny_catalog, session_cache):
    """The tiny catalog's default captioner user (a tiny model, trained in seconds, once per session)."""
    from simulators.registry import make_user

    return make_user("captioner", tiny_catalog, cache=session_cache, progress=False)
