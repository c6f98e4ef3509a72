"""Renderer of SynthShoes items: one parameter row in, one side-view product photo out.

The shoe faces left on a white background. Every captioned parameter is drawn large and with
contrast (dark outlines; the accent colour on the outsole, heel cap, trim and bows) because a fixed
ImageNet CNN, not a person, is the main viewer: small, flat details were lost in its features in a
prototype. The primary colour stays the largest colour area (heels and platforms are covered in
it), which keeps it readable from pooled features; see `benchmarks/visibility.py`. The
image depends only on the row: pose jitter moves the drawing, `texture_seed` offsets the pattern
and grain textures. Drawing happens at twice the output size and is box-filtered down.

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
    COLOURS,
    FINISHES,
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
OUTSOLE = 0.04
HEEL_CAP = 0.06

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

    def poly(self, points, fill: RGB | None, outline: RGB | None = INK, width: float = 0.008,
             draw: ImageDraw.ImageDraw | None = None) -> None:
        d = draw or self.draw
        xy = self.px(points)
        if fill is not None:
            d.polygon(xy, fill=fill)
        if outline is not None:
            d.line([*xy, xy[0]], fill=outline, width=self.w(width), joint="curve")

    def line(self, points, fill, width: float, draw: ImageDraw.ImageDraw | None = None) -> None:
        (draw or self.draw).line(self.px(points), fill=fill, width=self.w(width), joint="curve")

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
    tiles: dict[str, Image.Image] = {}

    def blank() -> tuple[Image.Image, ImageDraw.ImageDraw]:
        im = Image.new("L", (n, n), 0)
        return im, ImageDraw.Draw(im)

    ring, dr = blank()
    core, dc = blank()
    cell = 30 * u
    for gy in np.arange(0, n, cell):
        for gx in np.arange(0, n, cell):
            x, y = gx + rng.uniform(0, 0.5 * cell), gy + rng.uniform(0, 0.5 * cell)
            r = rng.uniform(6, 8.5) * u
            ex = rng.uniform(0.8, 1.25)
            dc.ellipse((x - r * ex, y - r, x + r * ex, y + r), fill=255)
            for k in range(int(rng.integers(4, 7))):
                a0 = rng.uniform(0, 2 * math.pi) + k * 1.1
                cx, cy = x + (r * ex + 2.5 * u) * math.cos(a0), y + (r + 2.5 * u) * math.sin(a0)
                rr = rng.uniform(3.5, 5) * u
                dr.ellipse((cx - rr, cy - rr * 0.75, cx + rr, cy + rr * 0.75), fill=255)
    tiles["leopard_ring"], tiles["leopard_core"] = ring, core

    bands, db = blank()
    lines, dl = blank()
    period = int(56 * u)
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
    period = int(36 * u)
    for k in range(-n, n, period):
        ds.polygon([(k, 0), (k + period * 0.5, 0), (k + period * 0.5 + n * 0.25, n), (k + n * 0.25, n)], fill=255)
    tiles["stripes"] = stripes

    petals, dp = blank()
    centres, dz = blank()
    step = int(34 * u)
    for gy in range(0, n, step):
        for gx in range(0, n, step):
            x = gx + rng.uniform(0, step * 0.4) + (step / 2 if (gy // step) % 2 else 0)
            y = gy + rng.uniform(0, step * 0.4)
            r = rng.uniform(7.5, 9) * u
            a0 = rng.uniform(0, 2 * math.pi)
            for k in range(5):
                a = a0 + k * 2 * math.pi / 5
                cx, cy = x + r * math.cos(a), y + r * math.sin(a)
                pr = 0.62 * r
                dp.ellipse((cx - pr, cy - pr, cx + pr, cy + pr), fill=255)
            cr = 0.45 * r
            dz.ellipse((x - cr, y - cr, x + cr, y + cr), fill=255)
    tiles["floral_petals"], tiles["floral_centres"] = petals, centres

    scales, dsc = blank()
    fills, dfl = blank()
    sw, sh = 28 * u, 18 * u
    for j, y in enumerate(np.arange(-sh, n + sh, sh)):
        for x in np.arange(-sw, n + sw, sw):
            x0 = x + (sw / 2 if j % 2 else 0)
            diamond = [(x0, y - sh), (x0 + sw / 2, y), (x0, y + sh), (x0 - sw / 2, y)]
            dfl.polygon(diamond, fill=int(rng.integers(0, 150)))
            dsc.line([*diamond, diamond[0]], fill=255, width=max(1, int(3.5 * u)))
    tiles["snake_lines"], tiles["snake_fill"] = scales, fills

    block = max(1, int(round(3 * u)))
    grain = rng.normal(0.0, 1.0, (n // block + 1, n // block + 1))
    grain = np.repeat(np.repeat(grain, block, axis=0), block, axis=1)[:n, :n]
    streaks = np.sin(np.arange(n)[None, :] * (2 * math.pi / (9 * u)) + 3 * rng.normal(0, 1, (n, 1)))
    nap = 0.75 * grain + 0.5 * streaks
    tiles["suede_light"] = Image.fromarray(np.clip(70 * nap, 0, 140).astype(np.uint8))
    tiles["suede_dark"] = Image.fromarray(np.clip(-60 * nap, 0, 110).astype(np.uint8))

    yy = np.arange(n, dtype=np.float64)[:, None] / size
    xx = np.arange(n, dtype=np.float64)[None, :] / size
    wave = np.sin(2 * math.pi * (yy * 5.0 + xx * 1.6))
    tiles["sheen_bright"] = Image.fromarray((np.clip(wave, 0, 1) ** 1.5 * 235).astype(np.uint8))
    tiles["sheen_dark"] = Image.fromarray((np.clip(-wave, 0, 1) * 120).astype(np.uint8))
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
        "leopard": [("leopard_core", _shade(p, 0.6) if _lightness(p) > 0.3 else (150, 110, 60)),
                    ("leopard_ring", (28, 18, 12) if _lightness(p) > 0.2 else (200, 160, 90))],
        "plaid": [("plaid_bands", dark), ("plaid_lines", _contrast(p))],
        "stripes": [("stripes", _contrast(p))],
        "floral": [("floral_petals", _contrast(p)), ("floral_centres", (240, 190, 30))],
        "snakeskin": [("snake_fill", dark), ("snake_lines", dark)],
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

    lift = 1.12 if style in _HIGH_VAMP else 1.0
    front = [(s, h * lift) for s, h in _TOE_FRONT[row.toe]]
    body = list(_BODY[style])
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
        vamp = rest + [(0.30, 0.125), (0.38, 0.125), (0.43, 0.07), (0.46, 0.0)]
        top = sharp_front + _chaikin(path(vamp))
        shoe.pieces = [piece(top, shoe.front_s, 0.46)]
        shoe.topline = _chaikin(path(vamp[-5:-1]))
        shoe.profile = front + [(0.30, 0.125), (0.38, 0.125), (0.43, 0.07), (0.46, 0.0)]
        if not row.open_back:
            counter = [(0.68, 0.0), (0.74, 0.06), (0.86, 0.115), (0.99, 0.145), (1.005, 0.1), (1.01, 0.0)]
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


def _draw_sole_and_heel(cv: _Canvas, shoe: _Shoe) -> None:
    """Sole, platform and heel: covered in a shade of the upper's colour (a pale one for the foam and
    rubber of sporty shoes), with an accent outsole and heel cap. Accent-coloured heels and platforms
    were tried: they made the primary colour much harder to read from the pooled CNN features (which
    colour is the shoe's?) for a small gain on the accent."""
    row, acc = shoe.row, shoe.row.accent
    body = _shade(row.primary, 1.5) if row.category in _FOAM_SOLE else _shade(row.primary, 0.85)
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
        cv.poly([*top, (back, seat + 0.01), heel_back, (xb, GROUND), ground_front, nose], body)
        y = GROUND - OUTSOLE
        cv.poly([(x_front + 0.01, y), (heel_back[0] + 0.004, y), heel_back, (xb, GROUND), ground_front, nose], acc)
    else:
        under = [(x, y + SOLE_MIN) for x, y in top if x > xb + 0.06 * FOOT][::-1]
        sole = [*top, *under, (xb + 0.03 * FOOT, GROUND), ground_front, nose]
        tip0, tip1 = X_HEEL - 0.085 * FOOT, X_HEEL - 0.045 * FOOT
        hh = GROUND - seat
        if row.heel_shape == "block":
            xs = np.linspace(X_HEEL - 0.22 * FOOT, X_HEEL + 0.02 * FOOT, 6)
            heel = [(float(x), shoe.fb(x) + 0.5 * SOLE_MIN) for x in xs]
            heel += [(X_HEEL - 0.01 * FOOT, GROUND), (X_HEEL - 0.17 * FOOT, GROUND)]
            cap = [(X_HEEL - 0.175 * FOOT, GROUND - HEEL_CAP), (X_HEEL - 0.003 * FOOT, GROUND - HEEL_CAP),
                   (X_HEEL - 0.01 * FOOT, GROUND), (X_HEEL - 0.17 * FOOT, GROUND)]
        else:
            xs = np.linspace(X_HEEL - 0.17 * FOOT, X_HEEL + 0.02 * FOOT, 5)
            heel = [(float(x), shoe.fb(x) + 0.5 * SOLE_MIN) for x in xs]
            for t in np.linspace(0.15, 1.0, 5):
                heel.append((X_HEEL + 0.02 * FOOT - (X_HEEL + 0.02 * FOOT - tip1) * t ** 0.6, seat + hh * t))
            for u in np.linspace(0.0, 0.85, 5):
                heel.append((tip0 - (0.085 * FOOT) * u**2.2, GROUND - hh * u))
            cap = [(tip0 - 0.012, GROUND - HEEL_CAP), (tip1 + 0.01, GROUND - HEEL_CAP), (tip1 + 0.002, GROUND),
                   (tip0 - 0.002, GROUND)]
        cv.poly(heel, body)
        cv.poly(cap, acc)
        if row.finish in ("patent", "metallic"):
            hx = X_HEEL - (0.06 if row.heel_shape == "stiletto" else 0.09) * FOOT
            cv.line([(hx + 0.02 * FOOT, seat + 0.03), (hx, GROUND - 0.35 * (GROUND - seat))], WHITE, 0.012)
        cv.poly(sole, body)
        y = GROUND - OUTSOLE
        cv.poly([(x_front + 0.01, y), (xb + 0.05 * FOOT, y), (xb + 0.03 * FOOT, GROUND), ground_front, nose], acc)
    if row.category in ("rain boots", "athletic shoes"):
        xs = np.linspace(x_front + 0.04, X_HEEL - (0.0 if flat_sole else 0.3 * FOOT), 9)
        for x in xs:
            cv.poly([(x, GROUND), (x + 0.012, GROUND - 0.018), (x + 0.024, GROUND)], INK, None)
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


def _upper_texture(cv: _Canvas, shoe: _Shoe) -> Image.Image:
    """The upper's material as a full-canvas image: colour, pattern, finish and gloss."""
    row, size = shoe.row, cv.size
    tiles = _tiles(size // SUPERSAMPLE * SUPERSAMPLE)
    tex = Image.new("RGB", (size, size), row.primary)
    seed = row.texture_seed
    for name, colour in _pattern_layers(row):
        tex = Image.composite(Image.new("RGB", (size, size), colour), tex, _crop(tiles[name], size, seed))
    if row.finish == "suede":
        light, dark = _shade(row.primary, 1.45), _shade(row.primary, 0.6)
        tex = Image.composite(Image.new("RGB", (size, size), light), tex, _crop(tiles["suede_light"], size, seed // 7))
        tex = Image.composite(Image.new("RGB", (size, size), dark), tex, _crop(tiles["suede_dark"], size, seed // 7))
    elif row.finish == "metallic":
        tex = Image.composite(Image.new("RGB", (size, size), (20, 20, 24)), tex, _crop(tiles["sheen_dark"], size, seed))
        tex = Image.composite(Image.new("RGB", (size, size), WHITE), tex, _crop(tiles["sheen_bright"], size, seed))
    if row.finish in ("patent", "leather", "metallic"):
        gloss = Image.new("L", (size, size), 0)
        g = ImageDraw.Draw(gloss)
        level = {"patent": 250, "leather": 95, "metallic": 200}[row.finish]
        width = {"patent": 0.017, "leather": 0.04, "metallic": 0.02}[row.finish]
        s0 = max(shoe.front_s + 0.04, 0.0)
        toe_arc = [shoe.at(s, 0.7 * shoe.top_h(max(s, 0.2)) if s > 0.2 else 0.06 + 0.2 * s) for s in
                   np.linspace(s0, 0.34, 6)]
        cv.line(toe_arc, level, width, draw=g)
        if row.shaft != "none":
            x = shoe.shaft_front[-1][0] + 0.05
            cv.line([(x, shoe.shaft_top + 0.05), (x + 0.01, shoe.fb(X_HEEL) - 0.12)], level, width, draw=g)
        elif not row.open_back:
            cv.line([shoe.at(s, 0.6 * shoe.top_h(s)) for s in (0.84, 0.9, 0.96)], level, width, draw=g)
        if row.finish == "patent":
            cv.dot(shoe.at(0.1, 0.05), 0.014, 255, None, draw=g)
            cv.line([shoe.at(s, 0.03) for s in (0.42, 0.55, 0.68)], 200, 0.01, draw=g)
        tex = Image.composite(Image.new("RGB", (size, size), WHITE), tex, gloss)
    if row.finish == "leather":
        stitch = _shade(row.primary, 0.45) if _lightness(row.primary) > 0.3 else _shade(row.primary, 1.55)
        td = ImageDraw.Draw(tex)
        xs = np.linspace(X_TOE + shoe.front_s * FOOT, X_HEEL + 0.02, 26)
        for k in range(0, len(xs) - 1, 2):
            cv.line([(xs[k], shoe.fb(xs[k]) - 0.026), (xs[k + 1], shoe.fb(xs[k + 1]) - 0.026)], stitch, 0.012, draw=td)
    return tex


def _draw_upper(cv: _Canvas, shoe: _Shoe) -> None:
    row = shoe.row
    size = cv.size
    mask = Image.new("L", (size, size), 0)
    md = ImageDraw.Draw(mask)
    for pc in shoe.pieces:
        md.polygon(cv.px(pc), fill=255)
    plain = row.pattern == "solid" and row.finish in ("matte",)
    if plain:
        cv.img.paste(row.primary, mask=mask)
    else:
        cv.img.paste(_upper_texture(cv, shoe), mask=mask)
    for pc in shoe.pieces:
        cv.poly(pc, None)


def _draw_category_details(cv: _Canvas, shoe: _Shoe) -> None:
    row, acc = shoe.row, shoe.row.accent
    if row.category == "athletic shoes":
        swoosh = [shoe.at(0.22, 0.05), shoe.at(0.5, 0.06), shoe.at(0.78, 0.13), shoe.at(0.9, 0.17),
                  shoe.at(0.75, 0.09), shoe.at(0.5, 0.035), shoe.at(0.3, 0.035)]
        cv.poly(_chaikin(swoosh, 1), acc)
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
            cv.dot((cx, cy), 0.02, WHITE, INK, 0.005)


def _draw_trim(cv: _Canvas, shoe: _Shoe) -> None:
    """Accent piping along the topline, or the rim of a shaft; fur on top when the row has it."""
    row = shoe.row
    if row.shaft != "none":
        (fx, fy), (bx, by) = shoe.topline
        h = 0.045 if row.category == "rain boots" else 0.028
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
        cv.line(shoe.topline, INK, 0.032)
        cv.line(shoe.topline, row.accent, 0.02)


def _strap_colour(primary: RGB) -> RGB:
    """Straps in the upper's colour, a step darker (lighter on near-black) so they stand out on it."""
    return _shade(primary, 1.4) if _lightness(primary) < 0.2 else _shade(primary, 0.72)


def _strap_arch(cv: _Canvas, shoe: _Shoe, s: float) -> list[Point]:
    base = shoe.at(s, shoe.top_h(s))
    rx, ry, band = 0.055, 0.14, 0.04
    outer = [(base[0] + rx * math.cos(a), base[1] - ry * math.sin(a) + 0.01) for a in np.linspace(0, math.pi, 9)]
    inner = [(base[0] + (rx - band) * math.cos(a), base[1] - (ry - band) * math.sin(a) + 0.01)
             for a in np.linspace(math.pi, 0, 9)]
    cv.poly(outer + inner, _strap_colour(shoe.row.primary))
    return [outer[2], outer[0]]


def _draw_straps(cv: _Canvas, shoe: _Shoe) -> Point | None:
    """Thick accent-coloured straps; returns where a buckle goes if the shoe has straps."""
    row = shoe.row
    n = row.straps
    if n == 0:
        return None
    style = _STYLE[row.category]
    if row.shaft != "none":
        seat_y = shoe.fb(X_HEEL)
        fracs = {1: [0.5], 2: [0.35, 0.72], 3: [0.25, 0.52, 0.79]}[n]
        (fx, _), (bx, _) = shoe.topline
        spot = None
        for f in fracs:
            y = seat_y - 0.1 - f * (seat_y - 0.1 - shoe.shaft_top)
            band = [(fx - 0.03, y - 0.01), (bx + 0.035, y - 0.04), (bx + 0.035, y + 0.012), (fx - 0.03, y + 0.042)]
            cv.poly(band, _strap_colour(row.primary), INK, 0.01)
            for t in (0.3, 0.5, 0.7):
                hx = fx - 0.03 + t * (bx - fx + 0.065)
                cv.dot((hx, y + 0.016 - 0.026 * t), 0.007, INK, None)
            spot = spot or (fx + 0.05, y + 0.005)
        return spot
    if style in ("sneaker", "athletic", "clog"):
        spots = {1: [0.45], 2: [0.36, 0.56], 3: [0.3, 0.47, 0.64]}[n]
        for s in spots:
            h = shoe.top_h(s + 0.05)
            band = [shoe.at(s - 0.02, 0.02), shoe.at(s + 0.05, h + 0.012), shoe.at(s + 0.12, h + 0.012),
                    shoe.at(s + 0.05, 0.02)]
            cv.poly(band, row.accent)
        return shoe.at(spots[0] + 0.06, 0.07)
    spots = {1: [0.86], 2: [0.55, 0.86], 3: [0.44, 0.65, 0.86]}[n]
    ends = [_strap_arch(cv, shoe, s) for s in spots]
    return ends[0][0]


def _draw_laces(cv: _Canvas, shoe: _Shoe) -> None:
    row = shoe.row
    colour = _contrast(row.primary)
    edge = (110, 110, 115) if colour[0] > 128 else (200, 200, 200)
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
    row = shoe.row
    if row.ornament == "none":
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
    _draw_category_details(cv, shoe)
    _draw_trim(cv, shoe)
    if row.laces:
        _draw_laces(cv, shoe)
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
