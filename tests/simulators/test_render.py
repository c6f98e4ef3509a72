"""The renderer: shapes, determinism, and that every captioned parameter changes the picture."""

from __future__ import annotations

import numpy as np
import pytest

from simulators.catalog.params import (
    CAPTIONED_COLUMNS,
    CATEGORIES,
    SHAFT_HEIGHTS,
    ShoeParams,
    sample_params,
)
from simulators.catalog.render import render_batch, render_item


@pytest.fixture(scope="module")
def params() -> ShoeParams:
    return sample_params(40, seed=3)


def _row(params: ShoeParams, i: int, **changes) -> ShoeParams:
    """A one-item table copied from row i, with some columns overwritten."""
    one = {k: v[i: i + 1].copy() for k, v in params.items()}
    for k, v in changes.items():
        one[k][0] = v
    return one


def test_shape_and_dtype(params):
    img = render_item(params, 0, size=64)
    assert img.shape == (64, 64, 3) and img.dtype == np.uint8
    batch = render_batch(params, [0, 5, 7], size=32)
    assert batch.shape == (3, 32, 32, 3) and batch.dtype == np.uint8


def test_white_background_and_shoe_in_frame(params):
    for i in range(10):
        img = render_item(params, i, size=64)
        assert (img[0, 0] == 255).all() and (img[-1, -1] >= 200).all()
        ink = (img.min(axis=2) < 200).mean()
        assert 0.04 < ink < 0.8, f"item {i}: {ink:.2f} of the pixels are shoe"


def test_deterministic_and_row_only(params):
    a = render_item(params, 3, size=64)
    assert a.tobytes() == render_item(params, 3, size=64).tobytes()
    assert a.tobytes() == render_item(_row(params, 3), 0, size=64).tobytes()
    bigger = sample_params(41, seed=3)
    assert a.tobytes() == render_item(bigger, 3, size=64).tobytes()


def test_batch_matches_items(params):
    batch = render_batch(params, np.arange(4), size=48)
    for k in range(4):
        assert np.array_equal(batch[k], render_item(params, k, size=48))


def test_different_items_differ(params):
    imgs = render_batch(params, np.arange(16), size=64).reshape(16, -1)
    assert len({im.tobytes() for im in imgs}) == 16


def _find(params: ShoeParams, **want) -> int:
    for i in range(len(params["category"])):
        if all(params[k][i] == v for k, v in want.items()):
            return i
    raise LookupError(want)


@pytest.mark.parametrize("column", list(CAPTIONED_COLUMNS))
def test_every_captioned_parameter_is_drawn(params, column):
    """Changing any one captioned value of a row changes its image."""
    boot = CATEGORIES.index("boots")
    if column == "fur_trim":
        i = _find(params, category=boot)
    else:
        i = _find(params, category=CATEGORIES.index("pumps"), shaft_height=SHAFT_HEIGHTS.index("none"))
    base = render_item(params, i, size=64)
    kind = CAPTIONED_COLUMNS[column]
    current = params[column][i]
    if kind == "cm":
        alternatives = [float(current) + 2.5]
    elif kind == "bool":
        alternatives = [not bool(current)]
    elif kind == "count":
        alternatives = [v for v in range(4) if v != current]
    else:
        alternatives = [v for v in range(len(kind)) if v != current]
    for value in alternatives:
        img = render_item(_row(params, i, **{column: value}), 0, size=64)
        diff = np.abs(img.astype(int) - base.astype(int)).max(axis=2)
        assert (diff > 25).mean() > 0.003, f"{column}={value} is not visible"


def test_texture_seed_moves_pattern_only(params):
    i = _find(params, pattern=0)
    solid = render_item(params, i, size=64)
    assert np.array_equal(solid, render_item(_row(params, i, texture_seed=12345), 0, size=64)) or \
        params["finish"][i] in (1, 4)
    patterned = _row(params, i, pattern=1)
    a = render_item(patterned, 0, size=64)
    b = render_item(_row(patterned, 0, texture_seed=int(patterned["texture_seed"][0]) + 977), 0, size=64)
    assert not np.array_equal(a, b)


def test_pose_shift_moves_the_shoe(params):
    a = render_item(_row(params, 0, pose_dx=-0.04), 0, size=64)
    b = render_item(_row(params, 0, pose_dx=0.04), 0, size=64)
    cols = lambda img: np.flatnonzero((img.min(axis=2) < 200).any(axis=0))
    assert cols(b).mean() > cols(a).mean() + 3


def test_rejects_tiny_size(params):
    with pytest.raises(ValueError):
        render_item(params, 0, size=8)
