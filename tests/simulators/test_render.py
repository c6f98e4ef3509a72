"""The renderer: shapes, determinism, and that every captioned parameter changes the picture."""

from __future__ import annotations

import numpy as np
import pytest

from simulators.catalog.params import (
    CAPTIONED_COLUMNS,
    CATEGORIES,
    CLOSURES,
    COLOURS,
    HEEL_SHAPES,
    SHAFT_HEIGHTS,
    TOE_SHAPES,
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


def _assert_every_value_visible(params: ShoeParams, i: int, column: str) -> None:
    """Setting `column` of row i to any other value changes a visible share of its image."""
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


@pytest.mark.parametrize("column", list(CAPTIONED_COLUMNS))
def test_every_captioned_parameter_is_drawn(params, column):
    """Changing any one captioned value of a row changes its image (every value of every vocabulary)."""
    if column in ("fur_trim", "closure"):  # drawn on a shaft
        i = _find(params, category=CATEGORIES.index("boots"))
    else:
        i = _find(params, category=CATEGORIES.index("pumps"), shaft_height=SHAFT_HEIGHTS.index("none"))
    _assert_every_value_visible(params, i, column)


@pytest.mark.parametrize(("column", "category"), [
    ("logo", "athletic shoes"), ("logo", "sneakers"), ("lug_sole", "rain boots"), ("lug_sole", "athletic shoes"),
    ("lug_sole", "boots"), ("heel_material", "clogs"), ("heel_material", "high heels"), ("two_tone", "boots"),
    ("two_tone", "sneakers"), ("stitching", "boots"), ("ornament", "boots"), ("pattern", "flats"),
    ("finish", "sneakers"), ("strap_count", "boots"), ("strap_count", "sneakers"),
])
def test_new_parameters_are_drawn_where_they_occur(params, column, category):
    """The world-v2 parameters change the image on the kinds of shoe that carry them."""
    _assert_every_value_visible(params, _find(params, category=CATEGORIES.index(category)), column)


def _ink_columns_changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.flatnonzero((np.abs(a.astype(int) - b.astype(int)).max(axis=2) > 40).any(axis=0))


def test_mary_jane_strap_crosses_the_instep_and_slingback_strap_stays_back(params):
    i = _find(params, category=CATEGORIES.index("flats"))
    closed = _row(params, i, strap_count=0, open_back=False, toe_shape=TOE_SHAPES.index("round"), buckle=False,
                  ornament=0, pose_tilt=0.0, pose_dx=0.0)
    mary_jane = _ink_columns_changed(render_item(_row(closed, 0, strap_count=1), 0, 128), render_item(closed, 0, 128))
    sling = _row(closed, 0, open_back=True)
    slingback = _ink_columns_changed(render_item(_row(sling, 0, strap_count=1), 0, 128), render_item(sling, 0, 128))
    # the foot runs from x = 0.13 to 0.77 of the canvas: s = 0.6 is near x = 0.51, s = 0.86 near x = 0.68
    assert abs(mary_jane.mean() / 128 - 0.51) < 0.06
    assert slingback.mean() > mary_jane.mean() + 12


def test_athletic_swoosh_and_tread_follow_logo_and_lug_sole(params):
    i = _find(params, category=CATEGORIES.index("athletic shoes"))
    plain = _row(params, i, logo=False, lug_sole=False, two_tone=False, laces=False, strap_count=0, pose_dy=0.0,
                 pose_tilt=0.0)
    base = render_item(plain, 0, 128)
    swoosh = _ink_columns_changed(render_item(_row(plain, 0, logo=True), 0, 128), base)
    assert len(swoosh) > 30  # a long shape along the side
    lugs = np.abs(render_item(_row(plain, 0, lug_sole=True), 0, 128).astype(int) - base.astype(int)).max(axis=2) > 40
    rows = np.flatnonzero(lugs.any(axis=1))
    assert rows.min() > 0.72 * 128  # the tread sits at the bottom of the shoe


def test_two_tone_panel_is_clearly_visible_but_smaller_than_the_rest_of_the_upper():
    """The accent panel covers a visible share of the image, yet less of the upper than the primary colour."""
    params = sample_params(300, seed=5)
    checked = 0
    for i in np.flatnonzero(params["two_tone"])[:12]:
        row = _row(params, int(i), pattern=0, finish=0, stitching=False, ornament=0, laces=False, strap_count=0)
        primary = np.array(COLOURS[int(row["primary_colour"][0])].rgb)
        accent = np.array(COLOURS[int(row["accent_colour"][0])].rgb)

        def count(table: ShoeParams, rgb: np.ndarray) -> int:
            img = render_item(table, 0, 128).reshape(-1, 3).astype(int)
            return int((np.abs(img - rgb).max(axis=1) < 12).sum())

        panel = count(row, accent) - count(_row(row, 0, two_tone=False), accent)
        assert panel > 0.002 * 128 * 128, f"item {i}: the two-tone panel is hardly visible"
        assert count(row, primary) > panel, f"item {i}: the panel covers more of the upper than the primary colour"
        checked += 1
    assert checked >= 5


def test_closures_are_drawn_only_on_a_shaft(params):
    i = _find(params, category=CATEGORIES.index("pumps"), shaft_height=SHAFT_HEIGHTS.index("none"))
    base = render_item(_row(params, i, closure=0), 0, 64)
    assert np.array_equal(base, render_item(_row(params, i, closure=CLOSURES.index("zipper")), 0, 64))
    boot = _find(params, category=CATEGORIES.index("boots"))
    flat_boot = _row(params, boot, heel_shape=HEEL_SHAPES.index("flat"), closure=0)
    for closure in ("zipper", "elastic"):
        img = render_item(_row(flat_boot, 0, closure=CLOSURES.index(closure)), 0, 64)
        assert not np.array_equal(img, render_item(flat_boot, 0, 64))


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
