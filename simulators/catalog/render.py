"""Renderer of SynthShoes items: one parameter row in, one side-view product photo out.

The shoe faces left on a white background. Every captioned parameter is drawn large and with
contrast (dark outlines; the accent colour on the outsole, heel cap, trim, laces, bows, logos and
two-tone panels) because a fixed ImageNet CNN, not a person, is the main viewer: small, flat details
were lost in its features in a prototype. The primary colour stays the largest colour area (heels
and platforms are covered in it or in its print unless they are cork, wood or clear lucite), which
keeps it readable from pooled features; see `benchmarks/reports/visibility.py`. A printed pattern is drawn
over the material's grain so that it stays crisp. The image depends only on the row: pose jitter
moves the drawing, `texture_seed` offsets the pattern and grain textures. Drawing happens at twice
the output size and is box-filtered down.

Coordinates below are fractions of the canvas, y pointing down; the foot runs from X_TOE (toe)
to X_HEEL (back of the heel) on the ground line GROUND, before the pose transform.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

from simulators.catalog.params import (
    CATEGORIES,
    CLOSURES,
    COLOURS,
    FINISHES,
    HEEL_MATERIALS,
    HEEL_SHAPES,
    ORNAMENTS,
    PATTERNS,
    SHAFT_HEIGHTS,
    TOE_SHAPES,
    ShoeParams,
)
from simulators.seeding import make_rng

GROUND = 0.86
X_TOE = 0.13
X_HEEL = 0.77
FOOT = X_HEEL - X_TOE
HEEL_PER_CM = 0.029
PLATFORM_PER_CM = 0.042
SOLE_MIN = 0.016
SHAFT_RISE = {"none": 0.0, "ankle": 0.31, "mid-calf": 0.44, "knee": 0.58}
SHAFT_TOP_MIN = 0.07
SUPERSAMPLE = 2
PATTERN_SCALE = 0.85
"""Size of the printed patterns' elements (spots, stripes, scales) relative to the first design."""
OUTSOLE = 0.066
HEEL_CAP = 0.095
LOW_VAMP_LIFT = 1.25
"""Height of the low uppers (flats, pumps, stilettos, high heels) relative to the first design: more
room for their pattern and colour."""

WHITE = (255, 255, 255)
INK = (38, 38, 44)
SKIN = (241, 196, 176)
NAIL = (214, 86, 112)
METAL = (222, 224, 232)
FUR = (238, 228, 206)
INSOLE = (196, 170, 140)
SHADOW = (232, 232, 234)

Point = tuple[float, float]
RGB = tuple[int, int, int]


@dataclass(frozen=True)
class _Row:
    """One parameter row as plain Python values (names for categorical codes)."""

    category: str
    primary: RGB
    accent: RGB
    heel_shape: str
    heel_cm: float
    platform_cm: float
    toe: str
    shaft: str
    straps: int
    laces: bool
    buckle: bool
    ornament: str
    fur: bool
    pattern: str
    finish: str
    open_back: bool
    two_tone: bool
    closure: str
    stitching: bool
    logo: bool
    lug_sole: bool
    heel_material: str
    scale: float
    dx: float
    dy: float
    tilt: float
    texture_seed: int


def _row(params: ShoeParams, i: int) -> _Row:
    p = {k: v[i] for k, v in params.items()}
    return _Row(
        category=CATEGORIES[int(p["category"])],
        primary=COLOURS[int(p["primary_colour"])].rgb,
        accent=COLOURS[int(p["accent_colour"])].rgb,
        heel_shape=HEEL_SHAPES[int(p["heel_shape"])],
        heel_cm=float(p["heel_height"]),
        platform_cm=float(p["platform"]),
        toe=TOE_SHAPES[int(p["toe_shape"])],
        shaft=SHAFT_HEIGHTS[int(p["shaft_height"])],
        straps=int(p["strap_count"]),
        laces=bool(p["laces"]),
        buckle=bool(p["buckle"]),
        ornament=ORNAMENTS[int(p["ornament"])],
        fur=bool(p["fur_trim"]),
        pattern=PATTERNS[int(p["pattern"])],
        finish=FINISHES[int(p["finish"])],
        open_back=bool(p["open_back"]),
        two_tone=bool(p["two_tone"]),
        closure=CLOSURES[int(p["closure"])],
        stitching=bool(p["stitching"]),
        logo=bool(p["logo"]),
        lug_sole=bool(p["lug_sole"]),
        heel_material=HEEL_MATERIALS[int(p["heel_material"])],
        scale=float(p["pose_scale"]),
        dx=float(p["pose_dx"]),
        dy=float(p["pose_dy"]),
        tilt=float(p["pose_tilt"]),
        texture_seed=int(p["texture_seed"]),
    )


def _shade(rgb: RGB, k: float) -> RGB:
    """Darken (k < 1) or lighten towards white (k > 1)."""
    if k <= 1.0:
        return tuple(int(c * k) for c in rgb)  # type: ignore[return-value]
    t = min(k - 1.0, 1.0)
    return tuple(int(c + (255 - c) * t) for c in rgb)  # type: ignore[return-value]


def _lightness(rgb: RGB) -> float:
    return (0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]) / 255.0


def _contrast(rgb: RGB) -> RGB:
    """Black on light colours, white on dark ones: laces, stripes, stitching."""
    return (20, 20, 24) if _lightness(rgb) > 0.55 else (250, 250, 250)


def _chaikin(points: list[Point], iters: int = 2) -> list[Point]:
    """Corner-cutting smoothing that keeps both end points."""
    pts = np.asarray(points, dtype=np.float64)
    for _ in range(iters):
        if len(pts) < 3:
            break
        a, b = pts[:-1], pts[1:]
        q, r = 0.75 * a + 0.25 * b, 0.25 * a + 0.75 * b
        mid = np.empty((2 * len(a), 2))
        mid[0::2], mid[1::2] = q, r
        pts = np.vstack([pts[:1], mid[1:-1], pts[-1:]])
    return [tuple(p) for p in pts]


class _Canvas:
    """An RGB image plus the item's pose transform, so drawing code works in unit coordinates."""

    def __init__(self, size: int, row: _Row):
        self.size = size
        self.img = Image.new("RGB", (size, size), WHITE)
        self.draw = ImageDraw.Draw(self.img)
        a = math.radians(row.tilt)
        s = row.scale * size
        self._m = np.array([[s * math.cos(a), s * math.sin(a)], [-s * math.sin(a), s * math.cos(a)]])
        self._anchor = np.array([0.5 * (X_TOE + X_HEEL), GROUND])
        self._offset = (self._anchor + np.array([row.dx, row.dy])) * size
        self.unit = s

    def px(self, points) -> list[Point]:
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2) - self._anchor
        out = pts @ self._m.T + self._offset
        return [tuple(p) for p in out]

    def w(self, width: float) -> int:
        return max(1, int(round(width * self.unit)))

    def poly(self, points, fill: RGB | Image.Image | None, outline: RGB | None = INK, width: float = 0.008,
             draw: ImageDraw.ImageDraw | None = None) -> None:
        d = draw or self.draw
        xy = self.px(points)
        if isinstance(fill, Image.Image):
            mask = Image.new("L", self.img.size, 0)
            ImageDraw.Draw(mask).polygon(xy, fill=255)
            self.img.paste(fill, (0, 0), mask)
        elif fill is not None:
            d.polygon(xy, fill=fill)
        if outline is not None:
            d.line([*xy, xy[0]], fill=outline, width=self.w(width), joint="curve")

    def line(self, points, fill, width: float, draw: ImageDraw.ImageDraw | None = None) -> None:
        (draw or self.draw).line(self.px(points), fill=fill, width=self.w(width), joint="curve")

    def ellipse(self, center: Point, rx: float, ry: float, fill: RGB | None, outline: RGB | None = INK,
                width: float = 0.006) -> None:
        (x, y), ax, ay = self.px([center])[0], rx * self.unit, ry * self.unit
        kw = {"outline": outline, "width": self.w(width)} if outline is not None else {}
        self.draw.ellipse((x - ax, y - ay, x + ax, y + ay), fill=fill, **kw)

    def dot(self, center: Point, radius: float, fill, outline: RGB | None = INK, width: float = 0.006,
            draw: ImageDraw.ImageDraw | None = None) -> None:
        (x, y), r = self.px([center])[0], radius * self.unit
        kw = {"outline": outline, "width": self.w(width)} if outline is not None else {}
        (draw or self.draw).ellipse((x - r, y - r, x + r, y + r), fill=fill, **kw)


# --------------------------------------------------------------------------- textures


@lru_cache(maxsize=8)
def _tiles(size: int) -> dict[str, Image.Image]:
    """Fixed pattern and grain masks, twice the canvas in each direction (cropped per item)."""
    n = 2 * size
    rng = make_rng(0, "render", "tiles", size)
    u = size / 256.0
    pu = u * PATTERN_SCALE
    tiles: dict[str, Image.Image] = {}

    def blank() -> tuple[Image.Image, ImageDraw.ImageDraw]:
        im = Image.new("L", (n, n), 0)
        return im, ImageDraw.Draw(im)

    ring, dr = blank()
    core, dc = blank()
    cell = 27 * pu
    for gy in np.arange(0, n, cell):
        for gx in np.arange(0, n, cell):
            x, y = gx + rng.uniform(0, 0.5 * cell), gy + rng.uniform(0, 0.5 * cell)
            r = rng.uniform(6, 8.5) * pu
            ex = rng.uniform(0.8, 1.25)
            dc.ellipse((x - r * ex, y - r, x + r * ex, y + r), fill=255)
            for k in range(int(rng.integers(4, 7))):
                a0 = rng.uniform(0, 2 * math.pi) + k * 1.1
                cx, cy = x + (r * ex + 2.5 * pu) * math.cos(a0), y + (r + 2.5 * pu) * math.sin(a0)
                rr = rng.uniform(4, 5.5) * pu
                dr.ellipse((cx - rr, cy - rr * 0.75, cx + rr, cy + rr * 0.75), fill=255)
    tiles["leopard_ring"], tiles["leopard_core"] = ring, core

    bands, db = blank()
    lines, dl = blank()
    period = int(56 * pu)
    for k in range(0, n, period):
        db.rectangle((k, 0, k + period * 0.45, n), fill=120)
        db.rectangle((0, k, n, k + period * 0.45), fill=120)
        db.rectangle((0, k + period * 0.7, n, k + period * 0.76), fill=0)
        dl.rectangle((k + period * 0.7, 0, k + period * 0.76, n), fill=230)
        dl.rectangle((0, k + period * 0.72, n, k + period * 0.78), fill=230)
    arr = np.asarray(bands, dtype=np.uint16)
    cross = np.zeros_like(arr)
    for k in range(0, n, period):
        cross[:, k: k + int(period * 0.45)] += 1
        cross[k: k + int(period * 0.45), :] += 1
    tiles["plaid_bands"] = Image.fromarray(np.where(cross >= 2, 210, np.where(cross == 1, 115, 0)).astype(np.uint8))
    tiles["plaid_lines"] = lines

    stripes, ds = blank()
    period = int(36 * pu)
    for k in range(-n, n, period):
        ds.polygon([(k, 0), (k + period * 0.5, 0), (k + period * 0.5 + n * 0.25, n), (k + n * 0.25, n)], fill=255)
    tiles["stripes"] = stripes

    petals, dp = blank()
    centres, dz = blank()
    step = int(34 * pu)
    for gy in range(0, n, step):
        for gx in range(0, n, step):
            x = gx + rng.uniform(0, step * 0.4) + (step / 2 if (gy // step) % 2 else 0)
            y = gy + rng.uniform(0, step * 0.4)
            r = rng.uniform(7.5, 9) * pu
            a0 = rng.uniform(0, 2 * math.pi)
            for k in range(5):
                a = a0 + k * 2 * math.pi / 5
                cx, cy = x + r * math.cos(a), y + r * math.sin(a)
                pr = 0.7 * r
                dp.ellipse((cx - pr, cy - pr, cx + pr, cy + pr), fill=255)
            cr = 0.45 * r
            dz.ellipse((x - cr, y - cr, x + cr, y + cr), fill=255)
    tiles["floral_petals"], tiles["floral_centres"] = petals, centres

    scales, dsc = blank()
    fills, dfl = blank()
    sw, sh = 28 * pu, 18 * pu
    for j, y in enumerate(np.arange(-sh, n + sh, sh)):
        for x in np.arange(-sw, n + sw, sw):
            x0 = x + (sw / 2 if j % 2 else 0)
            diamond = [(x0, y - sh), (x0 + sw / 2, y), (x0, y + sh), (x0 - sw / 2, y)]
            dfl.polygon(diamond, fill=int(rng.integers(30, 180)))
            dsc.line([*diamond, diamond[0]], fill=255, width=max(1, int(5 * pu)))
    tiles["snake_lines"], tiles["snake_fill"] = scales, fills

    block = max(1, int(round(3 * u)))
    grain = rng.normal(0.0, 1.0, (n // block + 1, n // block + 1))
    grain = np.repeat(np.repeat(grain, block, axis=0), block, axis=1)[:n, :n]
    streaks = np.sin(np.arange(n)[None, :] * (2 * math.pi / (9 * u)) + 3 * rng.normal(0, 1, (n, 1)))
    nap = 0.75 * grain + 0.5 * streaks
    tiles["suede_light"] = Image.fromarray(np.clip(90 * nap, 0, 170).astype(np.uint8))
    tiles["suede_dark"] = Image.fromarray(np.clip(-75 * nap, 0, 140).astype(np.uint8))

    yy = np.arange(n, dtype=np.float64)[:, None] / size
    xx = np.arange(n, dtype=np.float64)[None, :] / size
    wave = np.sin(2 * math.pi * (yy * 5.0 + xx * 1.6))
    tiles["sheen_bright"] = Image.fromarray((np.clip(wave, 0, 1) ** 1.5 * 235).astype(np.uint8))
    tiles["sheen_dark"] = Image.fromarray((np.clip(-wave, 0, 1) * 120).astype(np.uint8))
    tiles.update(_tiles_v2(n, u, pu, make_rng(0, "render", "tiles-v2", size)))
    for name in _FINISH_TILES:
        tiles[name + "/over"] = tiles[name].point(lambda v: v // 2)
    return tiles


def _smooth_noise(rng: np.random.Generator, n: int, cell: float) -> np.ndarray:
    """(n, n) smooth random field with unit spread, varying over about `cell` pixels."""
    k = max(2, int(n / cell) + 2)
    coarse = rng.normal(0.0, 1.0, (k, k)).astype(np.float32)
    return np.asarray(Image.fromarray(coarse, mode="F").resize((n, n), Image.Resampling.BICUBIC))


def _dot_grid(n: int, step: float, r: float, fill: int) -> Image.Image:
    """An n x n mask of discs of radius r on a hexagonal grid of pitch `step` (polka dots, mesh holes)."""
    im = Image.new("L", (n, n), 0)
    draw = ImageDraw.Draw(im)
    for j, y in enumerate(np.arange(0, n + step, step * 0.87)):
        for x in np.arange(-step, n + step, step):
            x0 = x + (step / 2 if j % 2 else 0)
            draw.ellipse((x0 - r, y - r, x0 + r, y + r), fill=fill)
    return im


def _tiles_v2(n: int, u: float, pu: float, rng: np.random.Generator) -> dict[str, Image.Image]:
    """World-v2 masks: polka dots, zebra, croc and quilting; canvas, mesh, satin and glitter."""
    tiles: dict[str, Image.Image] = {}
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)

    def mask(a: np.ndarray) -> Image.Image:
        return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))

    tiles["polka_dots"] = _dot_grid(n, 30 * pu, 10.5 * pu, 255)

    # Zebra: bold, wavy, tapering near-vertical bands (straight diagonal ones are "stripes").
    period = 34 * pu
    phase = (xx + 0.25 * yy) / period + 0.55 * _smooth_noise(rng, n, 60 * pu) + 0.18 * np.sin(yy / (9 * pu))
    taper = 0.25 * _smooth_noise(rng, n, 45 * pu)
    tiles["zebra"] = mask(255 * (np.sin(2 * math.pi * phase) > -0.1 + taper))

    # Croc: big irregular rectangular scales with deep dark gaps and a raised light top.
    lines = Image.new("L", (n, n), 255)
    fill = Image.new("L", (n, n), 0)
    light = Image.new("L", (n, n), 0)
    dl, dfl, dli = ImageDraw.Draw(lines), ImageDraw.Draw(fill), ImageDraw.Draw(light)
    gap = 3.5 * pu
    y = -10 * pu
    while y < n:
        h = rng.uniform(26, 38) * pu
        x = -rng.uniform(0, 40) * pu
        while x < n:
            w = rng.uniform(30, 52) * pu
            box = (x + gap, y + gap, x + w - gap, y + h - gap)
            dl.rounded_rectangle(box, radius=6 * pu, fill=0)
            dfl.rounded_rectangle(box, radius=6 * pu, fill=int(rng.integers(20, 140)))
            dli.rounded_rectangle((x + 2.5 * gap, y + 2 * gap, x + w - 2.5 * gap, y + 0.45 * h), radius=4 * pu,
                                  fill=190)
            x += w
        y += h
    tiles["croc_lines"], tiles["croc_fill"], tiles["croc_light"] = lines, fill, light

    # Quilting: a diagonal diamond grid of stitched seams, each diamond puffed (dark rim, light centre).
    q = 46 * pu
    fa, fb = np.mod((xx + yy) / q, 1.0), np.mod((xx - yy) / q, 1.0)
    edge = np.minimum(np.minimum(fa, 1 - fa), np.minimum(fb, 1 - fb))  # 0 on a seam, 0.5 in the middle
    tiles["quilt_dark"] = mask(245 * np.clip(1 - edge / 0.2, 0, 1) ** 1.3)
    tiles["quilt_light"] = mask(170 * np.clip((edge - 0.2) / 0.25, 0, 1))
    on_seam = edge * q < 1.6 * pu
    dash = np.sin(2 * math.pi * xx / (8 * pu)) > 0
    tiles["quilt_stitch"] = mask(255 * (on_seam & dash))

    # Canvas: a woven crosshatch, coarse enough to survive the 128-pixel view.
    weave = 12 * u
    cx, cy = np.mod(xx, weave) / weave, np.mod(yy, weave) / weave
    tiles["canvas_dark"] = mask(150 * ((cx < 0.3) | (cy < 0.3)))
    tiles["canvas_light"] = mask(110 * ((cx > 0.45) & (cx < 0.85) & (cy > 0.45) & (cy < 0.85)))

    # Mesh: a honeycomb of small dark holes.
    tiles["mesh_holes"] = _dot_grid(n, 12 * u, 3.6 * u, 235)

    # Satin: broad soft bands of sheen that follow the fabric, no hard highlight.
    soft = np.sin(2 * math.pi * (yy / n * 3.2 + xx / n * 0.6) + 0.8 * _smooth_noise(rng, n, 120 * u))
    tiles["satin_bright"] = mask(170 * np.clip(soft, 0, 1) ** 0.8)
    tiles["satin_dark"] = mask(60 * np.clip(-soft, 0, 1))

    # Glitter: a dense speckle of bright and dark sparkles.
    block = max(1, int(round(4 * u)))
    sparkle = rng.random((n // block + 1, n // block + 1))
    sparkle = np.repeat(np.repeat(sparkle, block, axis=0), block, axis=1)[:n, :n]
    tiles["glitter_light"] = mask(255 * (sparkle > 0.72))
    tiles["glitter_dark"] = mask(200 * (sparkle < 0.22))

    # Heel materials: cork speckle and wood grain.
    grain = rng.random((n // block + 1, n // block + 1))
    grain = np.repeat(np.repeat(grain, block, axis=0), block, axis=1)[:n, :n]
    tiles["cork_dark"] = mask(230 * (grain < 0.3))
    tiles["cork_light"] = mask(160 * (grain > 0.85))
    rings = np.sin(2 * math.pi * (yy / (13 * u) + 0.8 * _smooth_noise(rng, n, 50 * u)))
    tiles["wood_grain"] = mask(230 * (rings > 0.4))
    return tiles


def _crop(tile: Image.Image, size: int, seed: int) -> Image.Image:
    ox, oy = seed % size, (seed // size) % size
    return tile.crop((ox, oy, ox + size, oy + size))


def _pattern_layers(row: _Row) -> list[tuple[str, RGB]]:
    """(tile name, colour) pairs painted over the primary colour, in order."""
    p = row.primary
    dark = _shade(p, 0.35) if _lightness(p) > 0.25 else (120, 120, 126)
    return {
        "solid": [],
        "leopard": [("leopard_core", _shade(p, 0.45) if _lightness(p) > 0.3 else (150, 110, 60)),
                    ("leopard_ring", (28, 18, 12) if _lightness(p) > 0.2 else (200, 160, 90))],
        "plaid": [("plaid_bands", dark), ("plaid_lines", _contrast(p))],
        "stripes": [("stripes", _contrast(p))],
        "floral": [("floral_petals", _contrast(p)), ("floral_centres", (240, 190, 30))],
        "snakeskin": [("snake_fill", dark), ("snake_lines", dark)],
        "polka dots": [("polka_dots", _contrast(p))],
        "zebra": [("zebra", (20, 20, 24) if _lightness(p) > 0.3 else (245, 245, 245))],
        "croc": [("croc_fill", dark), ("croc_light", _shade(p, 1.5)),
                 ("croc_lines", _shade(p, 0.2) if _lightness(p) > 0.25 else (165, 165, 172))],
        "quilted": [("quilt_dark", _shade(p, 0.3) if _lightness(p) > 0.15 else (95, 95, 100)),
                    ("quilt_light", _shade(p, 1.6)), ("quilt_stitch", _contrast(p))],
    }[row.pattern]


# --------------------------------------------------------------------------- geometry


@dataclass
class _Shoe:
    """Unit-coordinate geometry of one shoe, derived from its row."""

    row: _Row
    platform: float
    heel: float
    fb_x: np.ndarray
    fb_y: np.ndarray
    front_s: float
    profile: list[tuple[float, float]]
    pieces: list[list[Point]]
    topline: list[Point]
    shaft_front: list[Point]
    shaft_back: list[Point]
    shaft_top: float

    def fb(self, x: float) -> float:
        return float(np.interp(x, self.fb_x, self.fb_y))

    def at(self, s: float, h: float) -> Point:
        x = X_TOE + s * FOOT
        return (x, self.fb(x) - h)

    def top_h(self, s: float) -> float:
        body = [(s_, h_) for s_, h_ in self.profile if s_ >= 0.2]
        return float(np.interp(s, [b[0] for b in body], [b[1] for b in body]))

    def height(self, s: float) -> float:
        """Height of the upper above the footbed at `s`, with a low stand-in over the toe."""
        return self.top_h(s) if s > 0.2 else 0.06 + 0.2 * s


_BODY: dict[str, list[tuple[float, float]]] = {
    "pump": [(0.30, 0.125), (0.38, 0.13), (0.44, 0.105), (0.52, 0.08), (0.65, 0.07), (0.80, 0.085),
             (0.92, 0.125), (0.99, 0.145)],
    "flat": [(0.27, 0.125), (0.34, 0.13), (0.41, 0.1), (0.50, 0.078), (0.65, 0.072), (0.80, 0.082),
             (0.93, 0.12), (0.99, 0.13)],
    "stiletto": [(0.26, 0.11), (0.31, 0.105), (0.38, 0.075), (0.46, 0.06), (0.62, 0.062), (0.80, 0.085),
                 (0.93, 0.13), (0.99, 0.145)],
    "sneaker": [(0.30, 0.14), (0.45, 0.175), (0.60, 0.20), (0.72, 0.20), (0.82, 0.16), (0.92, 0.175),
                (0.99, 0.185)],
    "athletic": [(0.30, 0.15), (0.45, 0.19), (0.58, 0.225), (0.64, 0.25), (0.70, 0.21), (0.82, 0.175),
                 (0.93, 0.205), (0.99, 0.22)],
    "clog": [(0.25, 0.15), (0.40, 0.19), (0.52, 0.20), (0.60, 0.185), (0.68, 0.12), (0.80, 0.10),
             (0.92, 0.12), (0.99, 0.13)],
    "boot": [(0.30, 0.14), (0.45, 0.18), (0.52, 0.20)],
}
_STYLE = {"boots": "boot", "rain boots": "boot", "athletic shoes": "athletic", "sneakers": "sneaker",
          "clogs": "clog", "flats": "flat", "pumps": "pump", "high heels": "pump", "stilettos": "stiletto",
          "wedding shoes": "pump"}
_TOE_FRONT: dict[str, list[tuple[float, float]]] = {
    "round": [(-0.004, 0.0), (-0.014, 0.03), (-0.006, 0.06), (0.03, 0.088), (0.09, 0.108), (0.17, 0.12)],
    "pointed": [(-0.11, 0.0), (-0.11, 0.01), (-0.02, 0.045), (0.08, 0.08), (0.17, 0.10)],
    "open": [(0.17, 0.0), (0.13, 0.03), (0.135, 0.07), (0.19, 0.105)],
}
_HIGH_VAMP = {"sneaker", "athletic", "clog", "boot"}
_FOAM_SOLE = frozenset({"athletic shoes", "sneakers"})
_MARY_JANE = frozenset({"flats", "pumps", "wedding shoes"})


def _footbed(platform: float, heel: float) -> tuple[np.ndarray, np.ndarray]:
    """Sampled line the foot stands on, toe to heel: flat under the forefoot, an S-shank up to the seat."""
    xb = X_TOE + 0.32 * FOOT
    xseat = X_HEEL - 0.12 * FOOT
    spring = 0.016 if heel < 0.05 else 0.006
    xf = np.linspace(X_TOE - 0.13 * FOOT, xb, 7)
    yf = GROUND - platform - spring * np.clip((xb - xf) / (0.45 * FOOT), 0, 1) ** 2
    t = np.linspace(0, 1, 11)[1:, None]
    p0, p1 = np.array([xb, GROUND - platform]), np.array([xb + 0.4 * (xseat - xb), GROUND - platform])
    seat = GROUND - platform - heel
    p2, p3 = np.array([xseat - 0.4 * (xseat - xb), seat]), np.array([xseat, seat])
    curve = (1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t**2 * p2 + t**3 * p3
    xs = np.concatenate([xf, curve[:, 0], [X_HEEL + 0.03 * FOOT]])
    ys = np.concatenate([yf, curve[:, 1], [GROUND - platform - heel]])
    return xs, ys


def _geometry(row: _Row) -> _Shoe:
    platform = SOLE_MIN + PLATFORM_PER_CM * row.platform_cm
    heel = HEEL_PER_CM * row.heel_cm
    fb_x, fb_y = _footbed(platform, heel)
    style = _STYLE[row.category]
    shoe = _Shoe(row, platform, heel, fb_x, fb_y, 0.0, [], [], [], [], [], 0.0)

    lift = 1.12 if style in _HIGH_VAMP else LOW_VAMP_LIFT
    front = [(s, h * lift) for s, h in _TOE_FRONT[row.toe]]
    k = 1.0 if style in _HIGH_VAMP else LOW_VAMP_LIFT
    body = [(s, h * k) for s, h in _BODY[style]]
    if row.open_back and row.shaft == "none":
        body = [b for b in body if b[0] <= 0.62] + [(0.67, 0.05), (0.70, 0.0)]
    else:
        body += [(1.005, 0.1), (1.01, 0.0)]
    shoe.profile = front + body
    shoe.front_s = min(s for s, _ in front)

    def path(ctrl: list[tuple[float, float]]) -> list[Point]:
        return [shoe.at(s, h) for s, h in ctrl]

    def piece(top: list[Point], s0: float, s1: float) -> list[Point]:
        xs = np.linspace(X_TOE + s1 * FOOT, X_TOE + s0 * FOOT, 12)
        return top + [(float(x), shoe.fb(x)) for x in xs]

    sharp_front = path(front[:2]) if row.toe == "pointed" else []
    rest = front[1:] if row.toe == "pointed" else front
    if row.shaft != "none":
        seat_y = shoe.fb(X_HEEL)
        rise = SHAFT_RISE[row.shaft]
        top_y = max(seat_y - rise, SHAFT_TOP_MIN)
        rise = seat_y - top_y
        width = (0.47 if row.category == "rain boots" else 0.41) * FOOT
        instep = shoe.at(0.52, 0.2)
        f_top = (X_HEEL - width, top_y)
        f_mid = (X_HEEL - width + 0.01, min(instep[1] - 0.05, seat_y - 0.24))
        bulge = 0.0 if row.category == "rain boots" else {"ankle": 0.0, "mid-calf": 0.025, "knee": 0.04}[row.shaft]
        b_top = (X_HEEL + 0.02 * FOOT, top_y)
        b_mid = (X_HEEL + 0.02 * FOOT + bulge, top_y + 0.45 * rise)
        b_ankle = (X_HEEL + 0.005, seat_y - 0.13)
        b_low = (X_HEEL + 0.035 * FOOT, seat_y - 0.05)
        top = sharp_front + _chaikin(path(rest + body[:3]) + [f_mid])
        shoe.shaft_front = [instep, f_mid, f_top]
        shoe.shaft_back = [b_top, b_mid, b_ankle]
        shoe.shaft_top = top_y
        back = _chaikin([b_top, b_mid, b_ankle, b_low, (X_HEEL + 0.03 * FOOT, seat_y)], 1)
        top = top + [f_top] + back
        shoe.pieces = [piece(top, shoe.front_s, 1.03)]
        shoe.topline = [f_top, b_top]
    elif row.category == "high heels":
        vamp = rest + [(0.30, 0.125 * k), (0.38, 0.125 * k), (0.43, 0.07 * k), (0.46, 0.0)]
        top = sharp_front + _chaikin(path(vamp))
        shoe.pieces = [piece(top, shoe.front_s, 0.46)]
        shoe.topline = _chaikin(path(vamp[-5:-1]))
        shoe.profile = front + vamp[len(rest):]
        if not row.open_back:
            counter = [(0.68, 0.0), (0.74, 0.06 * k), (0.86, 0.115 * k), (0.99, 0.145 * k), (1.005, 0.1 * k),
                       (1.01, 0.0)]
            shoe.pieces.append(piece(_chaikin(path(counter)), 0.68, 1.01))
            shoe.topline = shoe.topline + _chaikin(path(counter[1:4]))
            shoe.profile += [(0.6, 0.0), (0.68, 0.0)] + counter[1:]
        else:
            shoe.profile += [(1.0, 0.0)]
    else:
        top = sharp_front + _chaikin(path(rest + body))
        shoe.pieces = [piece(top, shoe.front_s, body[-1][0])]
        shoe.topline = _chaikin(path([b for b in body if b[0] >= 0.3 and b[1] > 0]))
    return shoe


# --------------------------------------------------------------------------- drawing


def _draw_shadow(cv: _Canvas, shoe: _Shoe) -> None:
    x0, x1 = X_TOE - 0.12 * FOOT, X_HEEL + 0.06 * FOOT
    (ax, ay), (bx, by) = cv.px([(x0, GROUND - 0.012)])[0], cv.px([(x1, GROUND + 0.018)])[0]
    cv.draw.ellipse((min(ax, bx), min(ay, by), max(ax, bx), max(ay, by)), fill=SHADOW)


_MATERIAL_BASE: dict[str, RGB] = {"cork": (198, 152, 100), "wooden": (150, 96, 50), "clear": (176, 204, 228)}


def _heel_material_texture(cv: _Canvas, row: _Row) -> Image.Image:
    """Full-canvas fill of a cork or wooden heel and platform (a clear one is a flat tint with glints)."""
    size = cv.size
    tex = Image.new("RGB", (size, size), _MATERIAL_BASE[row.heel_material])
    tiles = _tiles(size // SUPERSAMPLE * SUPERSAMPLE)
    box = (0, 0, size, size)
    if row.heel_material == "cork":
        tex.paste((120, 80, 42), box, _crop(tiles["cork_dark"], size, row.texture_seed // 13))
        tex.paste((238, 210, 160), box, _crop(tiles["cork_light"], size, row.texture_seed // 13))
    elif row.heel_material == "wooden":
        tex.paste((88, 52, 24), box, _crop(tiles["wood_grain"], size, row.texture_seed // 13))
    return tex


def _clear_highlights(cv: _Canvas, pts: list[Point]) -> None:
    """White glints along a clear (lucite) part: two long lines near its front and back edges."""
    arr = np.asarray(pts)
    (x0, y0), (x1, y1) = arr.min(0), arr.max(0)
    w, h = x1 - x0, y1 - y0
    if h > w:
        for t, k in ((0.3, 0.6), (0.7, 0.35)):
            cv.line([(x0 + t * w, y0 + 0.12 * h), (x0 + (t - 0.08) * w, y0 + (0.12 + k) * h)], WHITE, 0.02)
    else:
        for f in (0.35, 0.62):
            cv.line([(x0 + 0.15 * w, y0 + f * h), (x0 + 0.75 * w, y0 + f * h)], WHITE, 0.016)


def _draw_lugs(cv: _Canvas, x0: float, x1: float) -> None:
    """Deep tread: notches cut up into the outsole between big lugs, outlined so they read on any colour."""
    lug, notch = 0.03, 0.022
    x = x0 + lug
    while x + notch < x1:
        cv.poly([(x, GROUND + 0.006), (x + 0.004, GROUND - 0.03), (x + notch - 0.004, GROUND - 0.03),
                 (x + notch, GROUND + 0.006)], SHADOW, INK, 0.009)
        x += lug + notch


def _draw_sole_and_heel(cv: _Canvas, shoe: _Shoe) -> None:
    """Sole, platform and heel: covered in a shade of the upper's colour (a pale one for the foam and
    rubber of sporty shoes), or in cork, wood or clear lucite, with an accent outsole (deep lugs on a
    lug sole) and heel cap. Accent-coloured heels and platforms were tried: they made the primary
    colour much harder to read from the pooled CNN features (which colour is the shoe's?) for a small
    gain on the accent."""
    row, acc = shoe.row, shoe.row.accent
    body = _shade(row.primary, 1.5) if row.category in _FOAM_SOLE else _shade(row.primary, 0.85)
    material = row.heel_material
    fill: RGB | Image.Image = body
    if material != "plain":
        body = _MATERIAL_BASE[material]
        fill = body if material == "clear" else _heel_material_texture(cv, row)
    elif row.pattern != "solid" and row.category not in _FOAM_SOLE:
        fill = _pattern_texture(cv, row, body)  # a covered heel and platform, printed like the upper
    outsole = OUTSOLE + (0.025 if row.lug_sole else 0.0)
    x_front = X_TOE + shoe.front_s * FOOT - 0.004
    xb = X_TOE + 0.32 * FOOT
    seat = shoe.fb(X_HEEL)
    back = X_HEEL + 0.03 * FOOT
    flat_sole = row.heel_shape in ("flat", "wedge")
    xs_top = np.linspace(x_front, back, 16)
    top = [(float(x), shoe.fb(x)) for x in xs_top]
    toe_lift = GROUND - shoe.fb(x_front) - shoe.platform
    nose = (x_front - 0.006, GROUND - 0.5 * (GROUND - shoe.fb(x_front)))
    ground_front = (x_front + 0.08 * FOOT, GROUND - 0.3 * toe_lift)
    if flat_sole:
        heel_back = (back - (0.06 * FOOT if row.heel_shape == "wedge" else 0.0), GROUND)
        sole = [*top, (back, seat + 0.01), heel_back, (xb, GROUND), ground_front, nose]
        cv.poly(sole, fill)
        if material == "clear":
            _clear_highlights(cv, [p for p in sole if p[0] > xb] if row.heel_shape == "wedge" else sole)
        y = GROUND - outsole
        cv.poly([(x_front + 0.01, y), (heel_back[0] + 0.004, y), heel_back, (xb, GROUND), ground_front, nose], acc)
        if row.lug_sole:
            _draw_lugs(cv, ground_front[0], heel_back[0])
    else:
        under = [(x, y + SOLE_MIN) for x, y in top if x > xb + 0.06 * FOOT][::-1]
        sole = [*top, *under, (xb + 0.03 * FOOT, GROUND), ground_front, nose]
        tip0, tip1 = X_HEEL - 0.085 * FOOT, X_HEEL - 0.045 * FOOT
        hh = GROUND - seat
        cap_top = GROUND - HEEL_CAP - (0.02 if row.lug_sole else 0.0)
        if row.heel_shape == "block":
            xs = np.linspace(X_HEEL - 0.22 * FOOT, X_HEEL + 0.02 * FOOT, 6)
            heel = [(float(x), shoe.fb(x) + 0.5 * SOLE_MIN) for x in xs]
            heel += [(X_HEEL - 0.01 * FOOT, GROUND), (X_HEEL - 0.17 * FOOT, GROUND)]
            cap = [(X_HEEL - 0.175 * FOOT, cap_top), (X_HEEL - 0.003 * FOOT, cap_top),
                   (X_HEEL - 0.01 * FOOT, GROUND), (X_HEEL - 0.17 * FOOT, GROUND)]
        else:
            xs = np.linspace(X_HEEL - 0.17 * FOOT, X_HEEL + 0.02 * FOOT, 5)
            heel = [(float(x), shoe.fb(x) + 0.5 * SOLE_MIN) for x in xs]
            for t in np.linspace(0.15, 1.0, 5):
                heel.append((X_HEEL + 0.02 * FOOT - (X_HEEL + 0.02 * FOOT - tip1) * t ** 0.6, seat + hh * t))
            for u in np.linspace(0.0, 0.85, 5):
                heel.append((tip0 - (0.085 * FOOT) * u**2.2, GROUND - hh * u))
            cap = [(tip0 - 0.012, cap_top), (tip1 + 0.01, cap_top), (tip1 + 0.002, GROUND), (tip0 - 0.002, GROUND)]
        cv.poly(heel, fill)
        if material == "clear":
            _clear_highlights(cv, heel)
        cv.poly(cap, acc)
        if material == "plain" and row.finish in ("patent", "metallic"):
            hx = X_HEEL - (0.06 if row.heel_shape == "stiletto" else 0.09) * FOOT
            cv.line([(hx + 0.02 * FOOT, seat + 0.03), (hx, GROUND - 0.35 * (GROUND - seat))], WHITE, 0.012)
        cv.poly(sole, fill)
        y = GROUND - outsole
        cv.poly([(x_front + 0.01, y), (xb + 0.05 * FOOT, y), (xb + 0.03 * FOOT, GROUND), ground_front, nose], acc)
        if row.lug_sole:
            _draw_lugs(cv, ground_front[0], xb + 0.03 * FOOT)
            if row.heel_shape == "block":
                _draw_lugs(cv, X_HEEL - 0.17 * FOOT - 0.012, X_HEEL - 0.01 * FOOT)
    if row.category == "clogs":
        for k in (0.35, 0.65):
            ys = [shoe.fb(x) + k * (GROUND - shoe.fb(x)) for x in xs_top[2:-2]]
            cv.line(list(zip(xs_top[2:-2], ys, strict=True)), _shade(body, 0.6), 0.008)


def _draw_toes(cv: _Canvas, shoe: _Shoe) -> None:
    toe = [(0.2, 0.0), (-0.03, 0.0), (-0.055, 0.018), (-0.055, 0.045), (-0.035, 0.062), (0.02, 0.068),
           (0.1, 0.075), (0.2, 0.085)]
    cv.poly(_chaikin([shoe.at(s, h) for s, h in toe], 1), SKIN, (150, 100, 90), 0.006)
    cv.poly([shoe.at(s, h) for s, h in [(-0.045, 0.045), (-0.035, 0.058), (-0.005, 0.062), (-0.012, 0.046)]],
            NAIL, None)
    for s in (0.03, 0.08):
        cv.line([shoe.at(s, 0.0), shoe.at(s - 0.012, 0.035)], (150, 100, 90), 0.006)


def _pattern_texture(cv: _Canvas, row: _Row, base: RGB) -> Image.Image:
    """A full-canvas image of the row's pattern printed over `base`."""
    size = cv.size
    tiles = _tiles(size // SUPERSAMPLE * SUPERSAMPLE)
    tex = Image.new("RGB", (size, size), base)
    for name, colour in _pattern_layers(row):
        tex.paste(colour, (0, 0, size, size), _crop(tiles[name], size, row.texture_seed))
    return tex


_COVERING_PATTERNS = frozenset({"snakeskin", "croc", "quilted"})
"""Patterns that cover the whole upper, so the material's grain must be drawn over them too."""
_FINISH_TILES = ("sheen_dark", "sheen_bright", "satin_dark", "satin_bright", "suede_light", "suede_dark",
                 "canvas_dark", "canvas_light", "mesh_holes", "glitter_dark", "glitter_light")


def _finish_layers(row: _Row) -> list[tuple[RGB, str, int]]:
    """(colour, tile name, tile seed) layers that draw the finish's grain or sheen over the primary colour."""
    p, seed = row.primary, row.texture_seed
    return {
        "metallic": [((20, 20, 24), "sheen_dark", seed), (WHITE, "sheen_bright", seed)],
        "satin": [(_shade(p, 0.7), "satin_dark", seed // 3), (_shade(p, 1.7), "satin_bright", seed // 3)],
        "suede": [(_shade(p, 1.6), "suede_light", seed // 7), (_shade(p, 0.5), "suede_dark", seed // 7)],
        "canvas": [(_shade(p, 0.55) if _lightness(p) > 0.2 else _shade(p, 1.6), "canvas_dark", seed // 5),
                   (_shade(p, 1.45), "canvas_light", seed // 5)],
        "mesh": [(_shade(p, 0.3) if _lightness(p) > 0.2 else (150, 150, 156), "mesh_holes", seed // 5)],
        "glitter": [(_shade(p, 0.35) if _lightness(p) > 0.15 else (120, 120, 128), "glitter_dark", seed // 11),
                    (WHITE, "glitter_light", seed // 11)],
    }.get(row.finish, [])


def _upper_texture(cv: _Canvas, shoe: _Shoe) -> Image.Image:
    """The upper's material as a full-canvas image: colour, pattern, finish, gloss, a two-tone panel
    and decorative stitching (the caller clips it to the upper)."""
    row, size = shoe.row, cv.size
    tiles = _tiles(size // SUPERSAMPLE * SUPERSAMPLE)
    tex = Image.new("RGB", (size, size), row.primary)
    seed = row.texture_seed
    box = (0, 0, size, size)

    def tint(colour: RGB, name: str, tile_seed: int = seed) -> None:
        tex.paste(colour, box, _crop(tiles[name], size, tile_seed))

    # The material's grain and sheen go under a printed pattern, which stays crisp, and again at half
    # strength over the patterns that cover the whole surface; gloss lines go over everything.
    finish = _finish_layers(row)
    for colour, name, tile_seed in finish:
        tint(colour, name, tile_seed)
    for name, colour in _pattern_layers(row):
        tint(colour, name)
    if row.pattern in _COVERING_PATTERNS:
        for colour, name, tile_seed in finish:
            tint(colour, name + "/over", tile_seed)
    p = row.primary
    if row.finish in ("patent", "leather", "metallic", "rubber"):
        gloss = Image.new("L", (size, size), 0)
        g = ImageDraw.Draw(gloss)
        # rubber: a broad soft highlight, drawn as a wide faint band under a narrower brighter one
        passes = {"patent": [(250, 0.017)], "leather": [(95, 0.04)], "metallic": [(200, 0.02)],
                  "rubber": [(110, 0.09), (175, 0.05)]}[row.finish]
        s0 = max(shoe.front_s + 0.04, 0.0)
        toe_arc = [shoe.at(s, 0.7 * shoe.top_h(s) if s > 0.2 else 0.06 + 0.2 * s) for s in np.linspace(s0, 0.34, 6)]
        for level, width in passes:
            cv.line(toe_arc, level, width, draw=g)
            if row.shaft != "none":
                x = shoe.shaft_front[-1][0] + 0.05
                cv.line([(x, shoe.shaft_top + 0.05), (x + 0.01, shoe.fb(X_HEEL) - 0.12)], level, width, draw=g)
            elif not row.open_back:
                cv.line([shoe.at(s, 0.6 * shoe.top_h(s)) for s in (0.84, 0.9, 0.96)], level, width, draw=g)
        if row.finish == "rubber":
            band = [shoe.at(s, 0.72 * shoe.height(s)) for s in np.linspace(0.36, 0.62, 5)]
            cv.line(band, 110, 0.09, draw=g)
            cv.line(band, 175, 0.05, draw=g)
        if row.finish == "patent":
            cv.dot(shoe.at(0.1, 0.05), 0.014, 255, None, draw=g)
            cv.line([shoe.at(s, 0.03) for s in (0.42, 0.55, 0.68)], 200, 0.01, draw=g)
        tex.paste(WHITE, box, gloss)
    td = ImageDraw.Draw(tex)
    if row.finish == "leather":
        stitch = _shade(p, 0.45) if _lightness(p) > 0.3 else _shade(p, 1.55)
        xs = np.linspace(X_TOE + shoe.front_s * FOOT, X_HEEL + 0.02, 26)
        for k in range(0, len(xs) - 1, 2):
            cv.line([(xs[k], shoe.fb(xs[k]) - 0.026), (xs[k + 1], shoe.fb(xs[k + 1]) - 0.026)], stitch, 0.012, draw=td)
    if row.two_tone:
        panel = _two_tone_panel(shoe)
        cv.poly(panel, row.accent, INK, 0.026, draw=td)
        cv.poly(panel, None, _contrast(row.accent), 0.008, draw=td)  # a seam that reads on any pair of colours
    if row.stitching:
        _draw_stitching(cv, shoe, td)
    return tex


def _two_tone_panel(shoe: _Shoe) -> list[Point]:
    """A contrasting panel, well under half the upper: the heel counter (below the ankle on a boot),
    or the toe cap of an open-back shoe or a high heel. Reaches past the upper, which clips it."""
    row = shoe.row
    far_x, low_y = 0.6, GROUND + 0.05
    if row.shaft != "none":
        ankle = shoe.fb(X_HEEL) - 0.17
        p0, p1 = shoe.at(0.5, -0.03), (X_TOE + 0.72 * FOOT, ankle)
        return [(p0[0], low_y), p0, p1, (X_HEEL + far_x, ankle), (X_HEEL + far_x, low_y)]
    if not row.open_back and row.category != "high heels":  # a high heel's back is a small counter piece
        s0, s1 = 0.62, 0.8
        p0, p1 = shoe.at(s0, -0.03), shoe.at(s1, shoe.top_h(s1) + 0.03)
        top = (p1[0] + 0.06, p1[1] - 0.4)
        return [(p0[0], low_y), p0, p1, top, (X_HEEL + far_x, top[1]), (X_HEEL + far_x, low_y)]
    s_cut = 0.26 if row.toe != "open" else 0.29
    p0, p1 = shoe.at(s_cut, -0.03), shoe.at(s_cut - 0.08, shoe.height(s_cut - 0.08) + 0.03)
    top = (p1[0] - 0.06, p1[1] - 0.4)
    return [(p0[0], low_y), p0, p1, top, (X_TOE - far_x, top[1]), (X_TOE - far_x, low_y)]


def _dashes(cv: _Canvas, points: list[Point], colour: RGB, width: float, dash: float,
            draw: ImageDraw.ImageDraw) -> None:
    """A dashed polyline: dashes and gaps of length `dash` (unit coordinates) along its arc length."""
    pts = np.asarray(points, dtype=np.float64)
    cum = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
    t = np.arange(0.0, cum[-1], dash)
    xs, ys = np.interp(t, cum, pts[:, 0]), np.interp(t, cum, pts[:, 1])
    for k in range(0, len(t) - 1, 2):
        cv.line([(xs[k], ys[k]), (xs[k + 1], ys[k + 1])], colour, width, draw=draw)


def _draw_stitching(cv: _Canvas, shoe: _Shoe, draw: ImageDraw.ImageDraw) -> None:
    """Decorative contrast stitching: two thick dashed rows along the upper, two more up a shaft.
    (The leather finish's single sole-line stitch sits lower, in a shade of the upper's colour.)"""
    row = shoe.row
    colour = _contrast(row.primary)
    s0 = max(shoe.front_s, 0.0) + 0.04
    s1 = 0.55 if row.shaft != "none" or row.open_back else 0.97
    ss = np.linspace(s0, s1, 24)
    for frac in (0.35, 0.7):
        _dashes(cv, [shoe.at(s, frac * shoe.height(s)) for s in ss], colour, 0.016, 0.03, draw)
    if row.shaft != "none":
        (fx, fy), (bx, _) = shoe.topline
        bottom = shoe.fb(X_HEEL) - 0.1
        ys = np.linspace(fy + 0.05, bottom, 10)
        for t in (0.38, 0.62):
            x = fx + t * (bx - fx)
            wave = [(x + 0.018 * math.sin(6.0 * (y - fy) / max(bottom - fy, 1e-3) * math.pi / 2), y) for y in ys]
            _dashes(cv, wave, colour, 0.016, 0.03, draw)


def _draw_upper(cv: _Canvas, shoe: _Shoe) -> None:
    row = shoe.row
    size = cv.size
    mask = Image.new("L", (size, size), 0)
    md = ImageDraw.Draw(mask)
    for pc in shoe.pieces:
        md.polygon(cv.px(pc), fill=255)
    plain = row.pattern == "solid" and row.finish == "matte" and not (row.two_tone or row.stitching)
    if plain:
        cv.img.paste(row.primary, mask=mask)
    else:
        cv.img.paste(_upper_texture(cv, shoe), mask=mask)
    for pc in shoe.pieces:
        cv.poly(pc, None)


def _draw_category_details(cv: _Canvas, shoe: _Shoe) -> None:
    row, acc = shoe.row, shoe.row.accent
    if row.category == "athletic shoes":
        if row.logo:
            swoosh = [shoe.at(0.22, 0.05), shoe.at(0.5, 0.06), shoe.at(0.78, 0.13), shoe.at(0.9, 0.17),
                      shoe.at(0.75, 0.09), shoe.at(0.5, 0.035), shoe.at(0.3, 0.035)]
            _draw_badge(cv, _chaikin(swoosh, 1), acc)
        cv.poly([shoe.at(0.95, 0.19), shoe.at(1.0, 0.21), shoe.at(1.005, 0.12), shoe.at(0.95, 0.12)], acc)
    elif row.category == "sneakers":
        cap = [shoe.at(s, h) for s, h in [(0.13, 0.0), (0.13, 0.06), (0.06, 0.085), (0.0, 0.075),
                                          (-0.012, 0.05), (-0.014, 0.02), (-0.004, 0.0)]]
        cv.poly(_chaikin(cap, 1), acc)
        cv.line([(x, shoe.fb(x) + 0.55 * (GROUND - shoe.fb(x))) for x in np.linspace(X_TOE, X_HEEL, 6)],
                INK, 0.008)
    elif row.category == "rain boots" and row.shaft != "none":
        bumper = [shoe.at(s, h) for s, h in [(0.35, 0.0), (0.35, 0.035), (0.1, 0.04), (-0.01, 0.035),
                                             (-0.014, 0.0)]]
        cv.poly(bumper, acc)
    elif row.category == "wedding shoes" and shoe.topline:
        pts = shoe.topline
        for a, b in zip(pts[:-1:2], pts[1::2], strict=False):
            cx, cy = 0.5 * (a[0] + b[0]), 0.5 * (a[1] + b[1])
            cv.dot((cx, cy), 0.024, WHITE, INK, 0.006)
    if row.logo and row.category != "athletic shoes":  # the swoosh above is the athletic shoes' logo
        _draw_star(cv, shoe.at(0.74, 0.5 * shoe.height(0.74)), 0.06, acc)


def _draw_star(cv: _Canvas, centre: Point, radius: float, colour: RGB) -> None:
    """A big five-pointed side logo with a dark outline."""
    x, y = centre
    pts = [(x + (radius if k % 2 == 0 else 0.45 * radius) * math.sin(k * math.pi / 5),
            y - (radius if k % 2 == 0 else 0.45 * radius) * math.cos(k * math.pi / 5)) for k in range(10)]
    _draw_badge(cv, pts, colour)


def _draw_badge(cv: _Canvas, points: list[Point], colour: RGB) -> None:
    """A logo shape: filled, with a dark rim and a contrasting inner rim, so that it reads even on a
    panel of its own colour."""
    cv.poly(points, colour, INK, 0.022)
    cv.poly(points, None, _contrast(colour), 0.009)


def _draw_closure(cv: _Canvas, shoe: _Shoe) -> None:
    """A zip up the side of the shaft (dark tape, bright teeth, a pull tab), or a Chelsea boot's
    V-shaped elastic gore. Both need a shaft; shaftless rows never have a closure."""
    row = shoe.row
    if row.closure == "none" or row.shaft == "none":
        return
    (fx, fy), (bx, _) = shoe.topline
    bottom = shoe.fb(X_HEEL) - 0.07
    if row.closure == "zipper":
        x = fx + 0.58 * (bx - fx)
        path = [(x, fy + 0.01), (x + 0.004, 0.5 * (fy + bottom)), (x + 0.02, bottom)]
        cv.line(path, INK, 0.052)
        _dashes(cv, _chaikin(path, 1), METAL, 0.034, 0.014, cv.draw)
        tab = [(x - 0.024, fy + 0.03), (x + 0.024, fy + 0.03), (x + 0.018, fy + 0.12), (x - 0.018, fy + 0.12)]
        cv.poly(tab, METAL, INK, 0.011)
        cv.dot((x, fy + 0.05), 0.009, INK, None)
        return
    x = fx + 0.55 * (bx - fx)
    half = 0.095
    apex = (x, bottom - 0.02)
    gore = [(x - half, fy + 0.005), (x + half, fy + 0.005), apex]
    light = _lightness(row.primary) > 0.4
    cv.poly(gore, (40, 40, 46) if light else (190, 190, 198), INK, 0.016)
    rib = (100, 100, 108) if light else (120, 120, 128)
    for t in (-0.66, -0.33, 0.0, 0.33, 0.66):
        top = (x + t * half, fy + 0.02)
        cv.line([top, (x + t * half * 0.25, apex[1] - 0.04)], rib, 0.011)


def _draw_trim(cv: _Canvas, shoe: _Shoe) -> None:
    """Accent piping along the topline, or the rim of a shaft; fur on top when the row has it."""
    row = shoe.row
    if row.shaft != "none":
        (fx, fy), (bx, by) = shoe.topline
        h = 0.06 if row.category == "rain boots" else 0.048
        band = [(fx - 0.008, fy), (bx + 0.008, by), (bx + 0.006, by + h), (fx - 0.004, fy + h)]
        cv.poly(band, row.accent)
        if row.fur:
            for k, t in enumerate(np.linspace(-0.08, 1.08, 12)):
                x = fx + t * (bx - fx)
                cv.dot((x, fy + 0.005 + 0.012 * (k % 2)), 0.034, FUR, (150, 140, 125), 0.005)
            for t in np.linspace(0.0, 1.0, 9):
                x = fx + t * (bx - fx)
                cv.line([(x, fy - 0.02), (x + 0.01, fy + 0.02)], (185, 175, 158), 0.006)
    elif shoe.topline:
        cv.line(shoe.topline, INK, 0.052)
        cv.line(shoe.topline, row.accent, 0.04)


def _strap_colour(primary: RGB) -> RGB:
    """Straps in the upper's colour, a step darker (lighter on near-black) so they stand out on it."""
    return _shade(primary, 1.4) if _lightness(primary) < 0.2 else _shade(primary, 0.72)


def _strap_arch(cv: _Canvas, shoe: _Shoe, s: float, fill: RGB | Image.Image) -> list[Point]:
    base = shoe.at(s, shoe.top_h(s))
    rx, ry, band = 0.056, 0.14, 0.047
    outer = [(base[0] + rx * math.cos(a), base[1] - ry * math.sin(a) + 0.01) for a in np.linspace(0, math.pi, 9)]
    inner = [(base[0] + (rx - band) * math.cos(a), base[1] - (ry - band) * math.sin(a) + 0.01)
             for a in np.linspace(math.pi, 0, 9)]
    cv.poly(outer + inner, fill)
    return [outer[2], outer[0]]


def _draw_straps(cv: _Canvas, shoe: _Shoe) -> Point | None:
    """Thick straps: accent bands across a shaft or a sporty vamp, arches in the upper's colour on other
    shoes. Returns where a buckle goes if the shoe has straps."""
    row = shoe.row
    n = row.straps
    if n == 0:
        return None
    style = _STYLE[row.category]
    if row.shaft != "none":
        # n bands spread evenly between the ankle and the shaft's rim, with clear gaps between them
        low, high = shoe.fb(X_HEEL) - 0.08, shoe.shaft_top + 0.06
        step = (low - high) / n
        half = min(0.032, 0.3 * step)
        (fx, _), (bx, _) = shoe.topline
        spot = None
        for k in range(n):
            y = low - (k + 0.5) * step - 0.016
            band = [(fx - 0.03, y - half), (bx + 0.035, y - half - 0.03), (bx + 0.035, y + half - 0.03),
                    (fx - 0.03, y + half)]
            cv.poly(band, row.accent, INK, 0.018)
            for t in (0.3, 0.5, 0.7):
                hx = fx - 0.03 + t * (bx - fx + 0.065)
                cv.dot((hx, y + 0.016 - 0.026 * t), 0.011, METAL, INK, 0.006)
            spot = spot or (fx + 0.05, y + 0.005)
        return spot
    if style in ("sneaker", "athletic", "clog"):
        spots = {1: [0.45], 2: [0.36, 0.56], 3: [0.3, 0.47, 0.64]}[n]
        for s in spots:
            h = shoe.top_h(s + 0.05)
            band = [shoe.at(s - 0.035, 0.015), shoe.at(s + 0.04, h + 0.016), shoe.at(s + 0.145, h + 0.016),
                    shoe.at(s + 0.07, 0.015)]
            cv.poly(band, row.accent, INK, 0.016)
            for d in (0.0, 0.03):  # velcro: two contrasting rows along the strap
                cv.line([shoe.at(s + d, 0.03), shoe.at(s + 0.075 + d, h + 0.004)], _contrast(row.accent), 0.01)
        return shoe.at(spots[0] + 0.06, 0.07)
    spots = {1: [0.86], 2: [0.55, 0.86], 3: [0.5, 0.68, 0.86]}[n]
    if n == 1 and not row.open_back and row.toe != "open" and row.category in _MARY_JANE:
        spots = [0.6]  # a Mary Jane's strap crosses the instep (a slingback's stays at the back)
    fill: RGB | Image.Image = _strap_colour(row.primary)
    if row.pattern != "solid":
        fill = _pattern_texture(cv, row, fill)  # straps cut from the same printed material
    ends = [_strap_arch(cv, shoe, s, fill) for s in spots]
    return ends[0][0]


def _draw_laces(cv: _Canvas, shoe: _Shoe) -> None:
    row = shoe.row
    colour = row.accent  # accent laces with a contrasting edge: visible on any upper, and more accent area
    edge = (60, 60, 66) if _lightness(colour) > 0.5 else (215, 215, 215)
    if row.shaft != "none":
        a = shoe.shaft_front
        rail = _chaikin([a[0], a[1], (a[2][0], a[2][1] + 0.04)], 1)
        path = [(x + 0.012, y) for x, y in rail]
        offset = (0.06, 0.0)
        n = 5 + {"ankle": 0, "mid-calf": 1, "knee": 3}[row.shaft]
    else:
        lo, hi = (0.3, 0.62) if _STYLE[row.category] in _HIGH_VAMP else (0.12, 0.36)
        path = [shoe.at(s, shoe.top_h(max(s, 0.2)) - 0.012) for s in np.linspace(lo, hi, 6)]
        offset = (0.0, 0.055)
        n = 4
    xs = np.asarray(path)
    t = np.linspace(0, 1, n + 1)
    cum = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(xs, axis=0), axis=1))])
    pts_a = np.stack([np.interp(t * cum[-1], cum, xs[:, 0]), np.interp(t * cum[-1], cum, xs[:, 1])], 1)
    pts_b = pts_a + np.asarray(offset)
    strip = [*map(tuple, pts_a), *map(tuple, pts_b[::-1])]
    cv.poly(strip, _shade(row.primary, 0.7) if _lightness(row.primary) > 0.2 else (70, 70, 76), INK, 0.006)
    for k in range(n):
        for p, q in ((pts_a[k], pts_b[k + 1]), (pts_b[k], pts_a[k + 1])):
            cv.line([tuple(p), tuple(q)], edge, 0.026)
            cv.line([tuple(p), tuple(q)], colour, 0.016)
    for p in (*pts_a, *pts_b):
        cv.dot(tuple(p), 0.009, METAL, INK, 0.004)


def _draw_buckle(cv: _Canvas, shoe: _Shoe, spot: Point | None) -> None:
    row = shoe.row
    if spot is None:
        if row.shaft != "none":
            (fx, fy), _ = shoe.topline
            spot = (fx + 0.07, fy + 0.08)
        else:
            spot = shoe.at(0.28, 0.09) if _STYLE[row.category] not in _HIGH_VAMP else shoe.at(0.45, 0.1)
    x, y = spot
    w, h, t = 0.055, 0.05, 0.018
    outer = [(x - w, y - h), (x + w, y - h), (x + w, y + h), (x - w, y + h)]
    inner = [(x - w + t, y - h + t), (x + w - t, y - h + t), (x + w - t, y + h - t), (x - w + t, y + h - t)]
    cv.poly(outer, METAL, INK, 0.008)
    cv.poly(inner, _shade(row.primary, 0.6), INK, 0.006)
    cv.line([(x - w + t, y), (x + 0.35 * w, y)], METAL, 0.012)
    cv.line([(x - w + 0.004, y - h + 0.006), (x + w - 0.004, y - h + 0.006)], WHITE, 0.006)


def _draw_ornament(cv: _Canvas, shoe: _Shoe) -> None:
    """Bows, rhinestones, studs and chains, drawn last (fringe goes under the straps, see `_draw`)."""
    row = shoe.row
    if row.ornament in ("none", "fringe"):
        return
    boot = row.shaft != "none"
    if row.ornament == "bow":
        cx, cy = shoe.at(0.3, shoe.top_h(0.3) + 0.015)
        wing, hgt = 0.085, 0.06
        cv.poly([(cx, cy), (cx - wing, cy - hgt), (cx - wing - 0.01, cy + hgt * 0.2), (cx - wing * 0.6, cy + hgt)],
                row.accent)
        cv.poly([(cx, cy), (cx + wing, cy - hgt), (cx + wing + 0.01, cy + hgt * 0.2), (cx + wing * 0.6, cy + hgt)],
                row.accent)
        cv.poly([(cx, cy), (cx - 0.03, cy + 0.09), (cx - 0.005, cy + 0.08)], _shade(row.accent, 0.8))
        cv.poly([(cx, cy), (cx + 0.035, cy + 0.085), (cx + 0.01, cy + 0.08)], _shade(row.accent, 0.8))
        cv.dot((cx, cy), 0.022, _shade(row.accent, 0.75), INK, 0.007)
    elif row.ornament == "rhinestones":
        s0 = max(shoe.front_s, 0.0) + 0.02
        for k, s in enumerate(np.linspace(s0, 0.42, 9)):
            top = shoe.top_h(max(s, 0.2)) if s > 0.2 else 0.05 + 0.3 * s
            for j, frac in enumerate((0.75, 0.45)):
                cv.dot(shoe.at(s + 0.02 * j, top * frac), 0.013, (225, 240, 255), (60, 70, 90), 0.005)
            if k % 3 == 1:
                x, y = shoe.at(s, top * 0.6)
                r, q = 0.04, 0.008
                cv.poly([(x, y - r), (x + q, y - q), (x + r, y), (x + q, y + q), (x, y + r), (x - q, y + q),
                         (x - r, y), (x - q, y - q)], WHITE, (60, 70, 90), 0.004)
    elif row.ornament == "chain":
        _draw_chain(cv, shoe)
    else:
        spots: list[Point] = [(x, shoe.fb(x) - 0.035) for x in np.linspace(X_TOE + 0.06, X_HEEL - 0.01, 9)]
        if boot:
            (fx, fy), (bx, by) = shoe.topline
            spots += [(fx + t * (bx - fx), fy + 0.06) for t in np.linspace(0.1, 0.9, 5)]
        for x, y in spots:
            r = 0.02
            cv.poly([(x, y - r), (x + r, y), (x, y + r), (x - r, y)], (175, 178, 188), INK, 0.005)
            cv.poly([(x, y - r), (x - r, y), (x, y)], (245, 245, 250), None)
            cv.poly([(x, y + r), (x + r, y), (x, y)], (95, 98, 108), None)


def _vamp_span(shoe: _Shoe) -> tuple[float, float]:
    """Where along the foot the vamp of a shaftless shoe can carry an ornament."""
    return 0.18, (0.42 if shoe.row.category == "high heels" else 0.58)


def _draw_fringe(cv: _Canvas, shoe: _Shoe) -> None:
    """Long thick accent tassels hanging from the shaft top, or a kiltie fringe over the vamp."""
    row = shoe.row
    if row.shaft != "none":
        (fx, fy), (bx, by) = shoe.topline
        roots = [(fx + t * (bx - fx), fy + t * (by - fy) + 0.035) for t in np.linspace(-0.03, 1.03, 10)]
        lengths = [0.2] * len(roots)
    else:
        s0, s1 = _vamp_span(shoe)
        ss = np.linspace(s0, s1 - 0.08, 8)
        roots = [shoe.at(s, shoe.height(s) + 0.01) for s in ss]
        lengths = [max(0.85 * shoe.height(s), 0.06) for s in ss]
    cv.line(roots, INK, 0.05)
    cv.line(roots, row.accent, 0.032)
    for k, ((x, y), length) in enumerate(zip(roots, lengths, strict=True)):
        end = (x - 0.012 + 0.006 * (k % 2), y + length)
        cv.line([(x, y), end], INK, 0.034)
        cv.line([(x, y), end], row.accent, 0.02)


def _draw_chain(cv: _Canvas, shoe: _Shoe) -> None:
    """A row of large gold links across the ankle of a shaft or the vamp of a shoe."""
    row = shoe.row
    if row.shaft != "none":
        (fx, _), (bx, _) = shoe.topline
        y = shoe.fb(X_HEEL) - 0.15
        centres = [(x, y + 0.02 * (x - fx)) for x in np.linspace(fx + 0.01, bx - 0.01, 5)]
    else:
        s0, s1 = _vamp_span(shoe)
        centres = [shoe.at(s, 0.6 * shoe.height(s)) for s in np.linspace(s0 - 0.04, s1, 5)]
    gold, glint = (212, 170, 55), (255, 236, 160)
    for k, (x, y) in enumerate(centres):
        if k % 2 == 0:
            cv.ellipse((x, y), 0.046, 0.032, None, INK, 0.032)
            cv.ellipse((x, y), 0.046, 0.032, None, gold, 0.019)
            cv.line([(x - 0.024, y - 0.022), (x + 0.006, y - 0.028)], glint, 0.008)
        else:
            cv.ellipse((x, y), 0.04, 0.016, gold, INK, 0.01)
            cv.line([(x - 0.02, y - 0.003), (x + 0.02, y - 0.003)], glint, 0.007)


def _draw(row: _Row, size: int) -> Image.Image:
    cv = _Canvas(size, row)
    shoe = _geometry(row)
    _draw_shadow(cv, shoe)
    if row.toe == "open":
        _draw_toes(cv, shoe)
    _draw_sole_and_heel(cv, shoe)
    if row.open_back and row.shaft == "none":
        xs = np.linspace(X_TOE + 0.62 * FOOT, X_HEEL + 0.03 * FOOT, 6)
        ins = [(float(x), shoe.fb(x)) for x in xs]
        cv.poly(ins + [(x, y - 0.022) for x, y in ins[::-1]], INSOLE)
    _draw_upper(cv, shoe)
    _draw_trim(cv, shoe)
    _draw_category_details(cv, shoe)
    if row.laces:
        _draw_laces(cv, shoe)
    if row.ornament == "fringe":
        _draw_fringe(cv, shoe)  # under the closure and straps, which stay whole
    _draw_closure(cv, shoe)
    spot = _draw_straps(cv, shoe)
    if row.buckle:
        _draw_buckle(cv, shoe, spot)
    _draw_ornament(cv, shoe)
    return cv.img


def render_item(params: ShoeParams, i: int, size: int = 128) -> np.ndarray:
    """(size, size, 3) uint8 image of item `i`; a pure function of that parameter row."""
    if size < 16:
        raise ValueError(f"size must be at least 16 pixels, got {size}")
    img = _draw(_row(params, int(i)), size * SUPERSAMPLE)
    return np.asarray(img.reduce(SUPERSAMPLE), dtype=np.uint8)


def render_batch(params: ShoeParams, indices, size: int = 128) -> np.ndarray:
    """(B, size, size, 3) uint8 images of the items in `indices`."""
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    out = np.empty((len(idx), size, size, 3), dtype=np.uint8)
    for k, i in enumerate(idx):
        out[k] = render_item(params, int(i), size)
    return out
