"""The contact sheet: one labelled row per category."""

from __future__ import annotations

from PIL import Image

from benchmarks.grid import main, pick_rows
from simulators.catalog.params import CATEGORIES, sample_params


def test_pick_rows_one_category_per_row():
    params = sample_params(40, seed=0)
    rows = pick_rows(params, columns=3)
    assert len(rows) == len(CATEGORIES)
    for c, row in enumerate(rows):
        assert len(row) == 3 and all(params["category"][i] == c for i in row)


def test_main_writes_png(tmp_path):
    out = main(["--out", str(tmp_path / "sheet.png"), "--columns", "2", "--size", "32", "--label-width", "40"])
    img = Image.open(out)
    assert img.size == (40 + 2 * 32, len(CATEGORIES) * 32)
