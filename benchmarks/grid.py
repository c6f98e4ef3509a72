"""A contact sheet of SynthShoes renders: one row per category, labelled, saved as a PNG.

    python -m benchmarks.grid --out docs/synthshoes_grid.png --columns 8 --size 128
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from simulators.catalog.params import CATEGORIES, ShoeParams, item, sample_params
from simulators.catalog.render import render_item


@dataclass
class GridConfig:
    """What goes into the sheet."""

    out: str = "docs/synthshoes_grid.png"
    """Where the PNG is written (folders are created)."""
    columns: int = 8
    """Items per category row."""
    size: int = 128
    """Pixel size of each render."""
    seed: int = 0
    """Catalog seed; the sheet shows the first items of each category."""
    label_width: int = 110
    """Width of the left label column in pixels."""
    colours: int = 192
    """Palette size of the saved PNG, a third of the bytes of full RGB (0: save full RGB)."""


def pick_rows(params: ShoeParams, columns: int) -> list[list[int]]:
    """The first `columns` item indices of each category, in category order."""
    cats = params["category"]
    return [np.flatnonzero(cats == c)[:columns].tolist() for c in range(len(CATEGORIES))]


def make_grid(params: ShoeParams, rows: list[list[int]], size: int = 128, label_width: int = 110,
              labels: list[str] | None = None) -> Image.Image:
    """Tile the renders of `rows` (lists of item indices) with a label per row."""
    labels = labels if labels is not None else [CATEGORIES[int(params["category"][r[0]])] if r else "" for r in rows]
    columns = max(len(r) for r in rows)
    sheet = Image.new("RGB", (label_width + columns * size, len(rows) * size), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=max(10, size // 9))
    for r, (indices, label) in enumerate(zip(rows, labels, strict=True)):
        draw.text((6, r * size + size // 2), label, fill=(20, 20, 20), font=font, anchor="lm")
        for c, i in enumerate(indices):
            sheet.paste(Image.fromarray(render_item(params, i, size)), (label_width + c * size, r * size))
        draw.line([(0, r * size), (sheet.width, r * size)], fill=(225, 225, 225))
    return sheet


def main(argv: list[str] | None = None) -> Path:
    cfg = GridConfig()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, default in vars(cfg).items():
        ap.add_argument(f"--{name.replace('_', '-')}", type=type(default), default=default)
    ap.add_argument("--describe", action="store_true", help="print the parameters of every item shown")
    args = ap.parse_args(argv)
    cfg = GridConfig(**{k: getattr(args, k) for k in vars(cfg)})
    params = sample_params(len(CATEGORIES) * cfg.columns, cfg.seed)
    rows = pick_rows(params, cfg.columns)
    sheet = make_grid(params, rows, cfg.size, cfg.label_width)
    out = Path(cfg.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if cfg.colours:
        sheet = sheet.quantize(colors=cfg.colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    sheet.save(out, optimize=True)
    if args.describe:
        for indices in rows:
            for i in indices:
                print(i, item(params, i))
    print(f"wrote {out} ({sheet.width}x{sheet.height})")
    return out


if __name__ == "__main__":
    main()
