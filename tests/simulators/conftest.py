"""Fixtures the simulator tests share: sampled shoe parameters and random (target, reference) pairs."""

from __future__ import annotations

import numpy as np
import pytest

from simulators.catalog.params import sample_params


@pytest.fixture(scope="module")
def params():
    return sample_params(400, seed=0)


@pytest.fixture(scope="module")
def pairs():
    rng = np.random.default_rng(0)
    return rng.integers(0, 400, 600), rng.integers(0, 400, 600)
