"""Generative parameters of SynthShoes items: the schema, per-category priors and the sampler.

Every item is one row of a column table (`ShoeParams`, a dict of equal-length numpy arrays).
The renderer draws an image from a row, the attribute model and the caption grammar read the
same row, so the picture, the attributes and the captions can never disagree.

Categorical columns hold small integer codes into the vocabularies below; continuous columns
hold physical sizes in centimetres; the `pose_*` columns are the photo jitter (not captioned).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from simulators.seeding import make_rng

CATEGORIES: tuple[str, ...] = (
    "boots",
    "rain boots",
    "athletic shoes",
    "sneakers",
    "clogs",
    "flats",
    "pumps",
    "high heels",
    "stilettos",
    "wedding shoes",
)


@dataclass(frozen=True)
class Colour:
    name: str
    rgb: tuple[int, int, int]

    @property
    def lightness(self) -> float:
        """Perceived lightness in [0, 1] (Rec. 601 luma), used for "darker"/"lighter"."""
        r, g, b = self.rgb
        return (0.299 * r + 0.587 * g + 0.114 * b) / 255.0

    @property
    def saturation(self) -> float:
        mx, mn = max(self.rgb), min(self.rgb)
        return 0.0 if mx == 0 else (mx - mn) / mx


COLOURS: tuple[Colour, ...] = (
    Colour("black", (25, 25, 28)),
    Colour("white", (242, 242, 238)),
    Colour("gray", (128, 128, 132)),
    Colour("brown", (110, 62, 28)),
    Colour("tan", (205, 160, 105)),
    Colour("red", (200, 25, 35)),
    Colour("pink", (245, 130, 185)),
    Colour("purple", (115, 45, 160)),
    Colour("blue", (35, 80, 205)),
    Colour("green", (35, 140, 60)),
    Colour("yellow", (245, 210, 40)),
    Colour("orange", (245, 125, 25)),
    Colour("silver", (190, 195, 205)),
    Colour("gold", (212, 170, 55)),
    # World v2: the shades people name ("navy", "burgundy", "teal", "beige", "cream" ...).
    Colour("navy", (28, 36, 92)),
    Colour("burgundy", (118, 20, 46)),
    Colour("teal", (16, 130, 132)),
    Colour("olive", (112, 112, 40)),
    Colour("beige", (224, 202, 160)),
    Colour("cream", (250, 238, 200)),
    Colour("lilac", (196, 160, 224)),
    Colour("fuchsia", (224, 30, 144)),
    Colour("coral", (250, 118, 96)),
    Colour("light blue", (130, 185, 238)),
    Colour("bronze", (164, 108, 52)),
)
COLOUR_NAMES: tuple[str, ...] = tuple(c.name for c in COLOURS)
METALLIC_COLOURS = frozenset({"silver", "gold", "bronze"})

HEEL_SHAPES: tuple[str, ...] = ("flat", "block", "stiletto", "wedge")
TOE_SHAPES: tuple[str, ...] = ("pointed", "round", "open")
SHAFT_HEIGHTS: tuple[str, ...] = ("none", "ankle", "mid-calf", "knee")
ORNAMENTS: tuple[str, ...] = ("none", "bow", "rhinestones", "studs", "fringe", "chain")
PATTERNS: tuple[str, ...] = ("solid", "leopard", "plaid", "stripes", "floral", "snakeskin", "polka dots", "zebra",
                             "croc", "quilted")
FINISHES: tuple[str, ...] = ("matte", "suede", "leather", "patent", "metallic", "canvas", "mesh", "satin", "rubber",
                             "glitter")
CLOSURES: tuple[str, ...] = ("none", "zipper", "elastic")
"""Boot closures drawn on the shaft: a long zip, or elastic side panels (Chelsea boots)."""
HEEL_MATERIALS: tuple[str, ...] = ("plain", "cork", "clear", "wooden")
"""What the heel, wedge and platform are made of: the upper's material, cork, clear lucite or wood."""
FINISH_SHINE: dict[str, float] = {"matte": 0.1, "suede": 0.0, "leather": 0.45, "patent": 1.0, "metallic": 0.85,
                                  "canvas": 0.05, "mesh": 0.1, "satin": 0.6, "rubber": 0.5, "glitter": 0.7}
"""How shiny each finish looks, in [0, 1] (the claims' "shiny", the attribute "shiny")."""
TOE_POINTINESS: dict[str, float] = {"pointed": 1.0, "round": 0.2, "open": 0.35}
"""How pointed each toe shape looks, in [0, 1] ("pointier", the attribute "pointy-at-the-front")."""
HEEL_WIDTH: dict[str, float] = {"flat": float("nan"), "stiletto": 1.0, "block": 2.0, "wedge": 3.0}
"""How wide each heel shape is ("a wider heel"); a flat shoe has no heel to compare."""
TEXTURED_FINISHES = frozenset({"suede", "canvas", "mesh", "glitter"})
TEXTURED_PATTERNS = frozenset({"snakeskin", "croc", "quilted"})
"""Surfaces that look rough or raised ("more textured"); the rest look smooth."""
MAX_STRAPS = 3
MAX_HEEL_CM = 12.0
MAX_PLATFORM_CM = 4.0

# Column name -> vocabulary (categorical), "bool", "count" or "cm" (continuous).
CAPTIONED_COLUMNS: dict[str, tuple[str, ...] | str] = {
    "category": CATEGORIES,
    "primary_colour": COLOUR_NAMES,
    "accent_colour": COLOUR_NAMES,
    "heel_shape": HEEL_SHAPES,
    "heel_height": "cm",
    "platform": "cm",
    "toe_shape": TOE_SHAPES,
    "shaft_height": SHAFT_HEIGHTS,
    "strap_count": "count",
    "laces": "bool",
    "buckle": "bool",
    "ornament": ORNAMENTS,
    "fur_trim": "bool",
    "pattern": PATTERNS,
    "finish": FINISHES,
    "open_back": "bool",
    "two_tone": "bool",
    "closure": CLOSURES,
    "stitching": "bool",
    "logo": "bool",
    "lug_sole": "bool",
    "heel_material": HEEL_MATERIALS,
}
# Photo jitter and the seed of the item's texture noise (leopard spots, suede grain): not captioned.
POSE_COLUMNS: tuple[str, ...] = ("pose_scale", "pose_dx", "pose_dy", "pose_tilt", "texture_seed")
ALL_COLUMNS: tuple[str, ...] = (*CAPTIONED_COLUMNS, *POSE_COLUMNS)

ShoeParams = dict[str, np.ndarray]
"""Column table: name -> array of length N (int16 codes, bool, or float32 sizes)."""


def _p(weights: dict[str, float], vocab: tuple[str, ...]) -> np.ndarray:
    """A probability vector over `vocab` from a sparse dict of weights."""
    unknown = set(weights) - set(vocab)
    if unknown:
        raise ValueError(f"unknown values {sorted(unknown)} for vocabulary {vocab}")
    p = np.array([weights.get(v, 0.0) for v in vocab], dtype=np.float64)
    return p / p.sum()


_EVERYDAY = {"black": 5, "brown": 4, "tan": 3, "gray": 2, "white": 2, "red": 1.5, "blue": 1.5,
             "pink": 1, "purple": 0.7, "green": 0.7, "silver": 0.5, "gold": 0.5, "yellow": 0.4,
             "orange": 0.4, "navy": 1.5, "burgundy": 1.0, "olive": 0.8, "beige": 1.5, "cream": 1.0, "teal": 0.5,
             "lilac": 0.3, "fuchsia": 0.3, "coral": 0.3, "light blue": 0.5, "bronze": 0.5}
_BRIGHT = {"black": 2, "white": 2, "red": 2, "blue": 2, "pink": 2, "purple": 1.5, "green": 1.5,
           "yellow": 1.5, "orange": 1.5, "gray": 1, "silver": 0.5, "gold": 0.3, "navy": 1.0, "teal": 1.5,
           "fuchsia": 1.5, "coral": 1.0, "light blue": 1.5, "lilac": 1.0, "olive": 0.5, "burgundy": 0.5,
           "beige": 0.3, "cream": 0.3}
_DRESSY = {"black": 5, "red": 3, "tan": 2, "white": 1.5, "pink": 1.5, "silver": 1.5, "gold": 1.5,
           "blue": 1, "purple": 1, "brown": 1, "gray": 0.7, "green": 0.5, "navy": 1.5, "burgundy": 1.5,
           "beige": 2.0, "cream": 1.0, "fuchsia": 1.0, "coral": 0.7, "teal": 0.5, "lilac": 0.5, "light blue": 0.5,
           "bronze": 0.7, "olive": 0.3}
_BRIDAL = {"white": 6, "silver": 3, "gold": 2, "pink": 1, "tan": 1, "cream": 4, "beige": 1, "lilac": 0.5,
           "light blue": 0.5}


@dataclass(frozen=True)
class CategoryPrior:
    """What a category looks like: distributions over every captioned parameter."""

    colours: dict[str, float]
    heel_shapes: dict[str, float]
    heel_cm: tuple[float, float]
    platform_cm: tuple[float, float]
    toes: dict[str, float]
    shafts: dict[str, float]
    straps: tuple[float, float, float, float]
    p_laces: float
    p_buckle: float
    ornaments: dict[str, float]
    p_fur: float
    patterns: dict[str, float]
    finishes: dict[str, float]
    p_open_back: float
    p_two_tone: float = 0.0
    closures: dict[str, float] = field(default_factory=lambda: {"none": 1.0})
    p_stitching: float = 0.0
    p_logo: float = 0.0
    p_lug_sole: float = 0.0
    heel_materials: dict[str, float] = field(default_factory=lambda: {"plain": 1.0})


_SOLID = {"solid": 1.0}
PRIORS: dict[str, CategoryPrior] = {
    "boots": CategoryPrior(
        _EVERYDAY, {"flat": 2, "block": 5, "stiletto": 1.5, "wedge": 1}, (0.0, 9.0), (0.0, 1.5),
        {"round": 3, "pointed": 2}, {"ankle": 3, "mid-calf": 2.5, "knee": 3},
        (0.6, 0.25, 0.15, 0.0), 0.3, 0.35, {"none": 6, "studs": 1.5, "fringe": 1.0, "chain": 0.7}, 0.2,
        {"solid": 8, "leopard": 1, "snakeskin": 1, "plaid": 0.7, "croc": 0.7, "zebra": 0.3, "quilted": 0.7},
        {"leather": 4, "suede": 3, "matte": 1.5, "patent": 1}, 0.0,
        p_two_tone=0.15, closures={"none": 4, "zipper": 3, "elastic": 3}, p_stitching=0.45, p_lug_sole=0.35,
        heel_materials={"plain": 8, "wooden": 1}),
    "rain boots": CategoryPrior(
        _BRIGHT, {"flat": 4, "block": 1}, (0.0, 3.0), (0.5, 2.0),
        {"round": 1}, {"mid-calf": 2, "knee": 3, "ankle": 1}, (0.8, 0.2, 0.0, 0.0), 0.05, 0.15,
        {"none": 1}, 0.1, {"solid": 5, "plaid": 1.5, "floral": 1.5, "stripes": 1, "polka dots": 1.5, "zebra": 0.3},
        {"rubber": 5, "patent": 2, "matte": 1}, 0.0, p_two_tone=0.2, p_lug_sole=0.8),
    "athletic shoes": CategoryPrior(
        _BRIGHT, {"flat": 1}, (0.0, 1.0), (1.5, 3.5), {"round": 1}, {"none": 5, "ankle": 1},
        (0.85, 0.15, 0.0, 0.0), 0.9, 0.0, {"none": 1}, 0.0, {"solid": 8, "stripes": 2, "polka dots": 0.3},
        {"mesh": 4, "matte": 2, "leather": 1.5, "metallic": 0.5, "canvas": 0.5}, 0.0,
        p_two_tone=0.5, p_logo=0.75, p_lug_sole=0.5),
    "sneakers": CategoryPrior(
        _EVERYDAY, {"flat": 1}, (0.0, 1.0), (0.8, 2.5), {"round": 1}, {"none": 4, "ankle": 1.5},
        (0.8, 0.2, 0.0, 0.0), 0.8, 0.0, {"none": 6, "studs": 1}, 0.0,
        {"solid": 6, "stripes": 1.5, "plaid": 1, "floral": 1, "leopard": 0.7, "polka dots": 1, "zebra": 0.5,
         "quilted": 0.3},
        {"canvas": 4, "matte": 2, "leather": 2, "suede": 1, "glitter": 0.5}, 0.0,
        p_two_tone=0.35, p_stitching=0.1, p_logo=0.5, p_lug_sole=0.15),
    "clogs": CategoryPrior(
        _EVERYDAY, {"flat": 2, "block": 2, "wedge": 2}, (0.0, 6.0), (1.5, 4.0),
        {"round": 4, "open": 1}, {"none": 1}, (0.55, 0.35, 0.1, 0.0), 0.0, 0.3,
        {"none": 6, "studs": 1.5}, 0.1, {"solid": 8, "floral": 1, "leopard": 0.7, "polka dots": 0.3},
        {"leather": 3, "suede": 2, "matte": 2, "patent": 0.7, "rubber": 1}, 0.75,
        p_two_tone=0.1, p_stitching=0.3, heel_materials={"plain": 3, "wooden": 3, "cork": 1}),
    "flats": CategoryPrior(
        _DRESSY, {"flat": 1}, (0.0, 1.0), (0.0, 0.5), {"round": 3, "pointed": 2.5, "open": 1},
        {"none": 1}, (0.5, 0.35, 0.15, 0.0), 0.12, 0.15,
        {"none": 4, "bow": 3, "rhinestones": 0.7, "studs": 0.7, "chain": 0.5, "fringe": 0.3}, 0.0,
        {"solid": 7, "leopard": 1, "plaid": 0.7, "floral": 1, "snakeskin": 0.7, "polka dots": 1, "zebra": 0.5,
         "croc": 0.3, "quilted": 0.7},
        {"leather": 3, "suede": 2, "patent": 2, "metallic": 1, "matte": 1, "satin": 1, "glitter": 0.7, "canvas": 0.3},
        0.35, p_two_tone=0.2, p_stitching=0.45),
    "pumps": CategoryPrior(
        _DRESSY, {"block": 3, "stiletto": 3}, (4.0, 8.5), (0.0, 0.8), {"pointed": 3, "round": 2},
        {"none": 1}, (0.7, 0.3, 0.0, 0.0), 0.0, 0.1, {"none": 6, "bow": 1, "rhinestones": 0.5, "chain": 0.3}, 0.0,
        {"solid": 8, "leopard": 1, "snakeskin": 1, "croc": 1, "zebra": 0.3, "polka dots": 0.3},
        {"leather": 3, "patent": 3, "suede": 2, "matte": 1, "satin": 1, "glitter": 0.5}, 0.1,
        p_two_tone=0.2, heel_materials={"plain": 8, "clear": 1, "wooden": 0.5}),
    "high heels": CategoryPrior(
        _DRESSY, {"block": 2, "stiletto": 2, "wedge": 2}, (7.0, 11.5), (0.0, 3.0),
        {"open": 3, "pointed": 1.5, "round": 1.5}, {"none": 6, "ankle": 1}, (0.25, 0.3, 0.25, 0.2),
        0.05, 0.35, {"none": 5, "bow": 1, "rhinestones": 1, "studs": 1, "fringe": 0.5, "chain": 0.5}, 0.0,
        {"solid": 7, "leopard": 1, "snakeskin": 1, "floral": 1, "croc": 0.5, "zebra": 0.5, "polka dots": 0.3},
        {"leather": 2, "patent": 2, "suede": 2, "metallic": 1.5, "matte": 1, "satin": 1, "glitter": 0.7}, 0.5,
        p_two_tone=0.2, heel_materials={"plain": 6, "cork": 2, "clear": 1, "wooden": 1}),
    "stilettos": CategoryPrior(
        _DRESSY, {"stiletto": 1}, (8.0, 12.0), (0.0, 1.0), {"pointed": 5, "open": 1},
        {"none": 1}, (0.6, 0.3, 0.1, 0.0), 0.0, 0.2, {"none": 6, "rhinestones": 1, "studs": 1, "chain": 0.5}, 0.0,
        {"solid": 7, "leopard": 1, "snakeskin": 1.5, "croc": 1, "zebra": 0.5},
        {"patent": 3, "leather": 3, "suede": 2, "metallic": 1, "satin": 1.5, "glitter": 1}, 0.25,
        p_two_tone=0.15, heel_materials={"plain": 8, "clear": 1.5}),
    "wedding shoes": CategoryPrior(
        _BRIDAL, {"stiletto": 3, "block": 2, "flat": 1}, (3.0, 10.0), (0.0, 1.0),
        {"pointed": 2, "round": 1.5, "open": 1.5}, {"none": 1}, (0.5, 0.35, 0.15, 0.0), 0.0, 0.1,
        {"bow": 3, "rhinestones": 4, "none": 1}, 0.0, _SOLID,
        {"patent": 2, "metallic": 2, "leather": 2, "satin": 4, "glitter": 1.5}, 0.3,
        p_two_tone=0.05, heel_materials={"plain": 9, "clear": 1}),
}


def _accent_weights(primary: str) -> dict[str, float]:
    """Accent (sole, trim) colours contrast with the primary: dark on light and light on dark."""
    light = COLOURS[COLOUR_NAMES.index(primary)].lightness
    weights = {}
    for c in COLOURS:
        if c.name == primary:
            continue
        gap = abs(c.lightness - light)
        weights[c.name] = 0.2 + 3.0 * gap + (1.5 if c.name in ("black", "white", "tan", "brown") else 0.0)
    return weights


def sample_params(n: int, seed: int, category_weights: np.ndarray | None = None) -> ShoeParams:
    """Draw `n` items; item i's parameters depend only on (seed, i), never on n.

    Categories cycle through a seeded permutation of equal shares, mirroring a catalogue
    with every category well represented (the Shoes dataset has 10 roughly even classes).
    """
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    order = make_rng(seed, "catalog", "category-order").permutation(len(CATEGORIES))
    cols: dict[str, list] = {c: [] for c in ALL_COLUMNS}
    for i in range(n):
        rng = make_rng(seed, "catalog", "item", i)
        if category_weights is None:
            cat = int(order[i % len(CATEGORIES)])
        else:
            cat = int(rng.choice(len(CATEGORIES), p=category_weights / category_weights.sum()))
        for name, value in _sample_item(cat, rng).items():
            cols[name].append(value)
    return _to_arrays(cols)


def _sample_item(category: int, rng: np.random.Generator) -> dict[str, float | int | bool]:
    pr = PRIORS[CATEGORIES[category]]
    primary = int(rng.choice(len(COLOURS), p=_p(pr.colours, COLOUR_NAMES)))
    accent = int(rng.choice(len(COLOURS), p=_p(_accent_weights(COLOUR_NAMES[primary]), COLOUR_NAMES)))
    heel_shape = int(rng.choice(len(HEEL_SHAPES), p=_p(pr.heel_shapes, HEEL_SHAPES)))
    lo, hi = pr.heel_cm
    if HEEL_SHAPES[heel_shape] == "flat":
        hi = min(hi, 1.0)
        lo = min(lo, hi)
    elif HEEL_SHAPES[heel_shape] == "stiletto":
        lo = max(lo, 5.0)
    elif HEEL_SHAPES[heel_shape] == "wedge":
        lo = max(lo, 3.0)
    else:  # block
        lo = max(lo, 2.0)
    hi = max(hi, lo)
    straps = int(rng.choice(MAX_STRAPS + 1, p=np.asarray(pr.straps) / sum(pr.straps)))
    shaft = int(rng.choice(len(SHAFT_HEIGHTS), p=_p(pr.shafts, SHAFT_HEIGHTS)))
    toe = int(rng.choice(len(TOE_SHAPES), p=_p(pr.toes, TOE_SHAPES)))
    if SHAFT_HEIGHTS[shaft] != "none" and TOE_SHAPES[toe] == "open":
        toe = TOE_SHAPES.index("round")
    open_back = bool(rng.random() < pr.p_open_back) and SHAFT_HEIGHTS[shaft] == "none"
    platform = float(rng.uniform(*pr.platform_cm))
    closure = CLOSURES[int(rng.choice(len(CLOSURES), p=_p(pr.closures, CLOSURES)))]
    if SHAFT_HEIGHTS[shaft] == "none" or (closure == "elastic" and SHAFT_HEIGHTS[shaft] != "ankle"):
        closure = "none"  # zips and elastic panels are drawn on a shaft; elastic only on ankle boots
    material = HEEL_MATERIALS[int(rng.choice(len(HEEL_MATERIALS), p=_p(pr.heel_materials, HEEL_MATERIALS)))]
    shape = HEEL_SHAPES[heel_shape]
    if ((material == "cork" and shape != "wedge" and platform < 1.5) or (material == "clear" and shape == "flat")
            or (material == "wooden" and shape == "stiletto")):
        material = "plain"  # cork wedges and platforms, clear heels, wooden blocks, wedges and clog soles
    return {
        "category": category,
        "primary_colour": primary,
        "accent_colour": accent,
        "heel_shape": heel_shape,
        "heel_height": float(rng.uniform(lo, hi)),
        "platform": platform,
        "toe_shape": toe,
        "shaft_height": shaft,
        "strap_count": straps,
        "laces": bool(rng.random() < pr.p_laces),
        "buckle": bool(rng.random() < pr.p_buckle),
        "ornament": int(rng.choice(len(ORNAMENTS), p=_p(pr.ornaments, ORNAMENTS))),
        "fur_trim": bool(rng.random() < pr.p_fur) and SHAFT_HEIGHTS[shaft] != "none",
        "pattern": int(rng.choice(len(PATTERNS), p=_p(pr.patterns, PATTERNS))),
        "finish": int(rng.choice(len(FINISHES), p=_p(pr.finishes, FINISHES))),
        "open_back": open_back,
        "two_tone": bool(rng.random() < pr.p_two_tone),
        "closure": CLOSURES.index(closure),
        "stitching": bool(rng.random() < pr.p_stitching),
        "logo": bool(rng.random() < pr.p_logo),
        "lug_sole": bool(rng.random() < pr.p_lug_sole) and shape in ("flat", "block"),
        "heel_material": HEEL_MATERIALS.index(material),
        "pose_scale": float(rng.uniform(0.9, 1.05)),
        "pose_dx": float(rng.uniform(-0.04, 0.04)),
        "pose_dy": float(rng.uniform(-0.04, 0.04)),
        "pose_tilt": float(rng.uniform(-3.0, 3.0)),
        "texture_seed": int(rng.integers(0, 2**31 - 1)),
    }


def _to_arrays(cols: dict[str, list]) -> ShoeParams:
    out: ShoeParams = {}
    for name, values in cols.items():
        kind = CAPTIONED_COLUMNS.get(name, "cm")
        if name == "texture_seed":
            out[name] = np.asarray(values, dtype=np.int64)
        elif kind == "bool":
            out[name] = np.asarray(values, dtype=bool)
        elif kind == "cm":
            out[name] = np.asarray(values, dtype=np.float32)
        else:
            out[name] = np.asarray(values, dtype=np.int16)
    return out


SUBTYPES: tuple[str, ...] = ("sandals", "gladiator sandals", "slingbacks", "mules", "slides", "mary janes",
                              "loafers", "oxfords", "cowboy boots", "chelsea boots", "combat boots", "booties",
                              "high-tops")
"""Styles within the ten categories, each a fixed function of the parameters (see `subtypes`)."""


def subtypes(params: ShoeParams) -> dict[str, np.ndarray]:
    """Which items are of each style in SUBTYPES: (N,) bool per style, derived from the parameters only.

    A style is what its parts make it ("sandals": an open toe held by straps), so it is exactly as
    visible as those parts, and an item may be of several styles (gladiator sandals are sandals).
    """
    cat = params["category"].astype(np.int64)

    def is_cat(*names: str) -> np.ndarray:
        return np.isin(cat, [CATEGORIES.index(n) for n in names])

    toe = params["toe_shape"].astype(np.int64)
    open_toe = toe == TOE_SHAPES.index("open")
    shaft = params["shaft_height"].astype(np.int64)
    no_shaft = shaft == SHAFT_HEIGHTS.index("none")
    straps = params["strap_count"].astype(np.int64)
    open_back = params["open_back"].astype(bool)
    laces = params["laces"].astype(bool)
    stitched = params["stitching"].astype(bool)
    flat = params["heel_shape"].astype(np.int64) == HEEL_SHAPES.index("flat")
    boots = is_cat("boots")
    backless = open_back & (straps == 0) & ~is_cat("clogs")
    return {
        "sandals": open_toe & (straps >= 1) & no_shaft,
        "gladiator sandals": open_toe & (straps == MAX_STRAPS) & no_shaft,
        "slingbacks": open_back & (straps >= 1),
        "mules": backless & ~flat,
        "slides": backless & flat,
        "mary janes": (straps == 1) & ~open_back & ~open_toe & no_shaft & is_cat("flats", "pumps", "wedding shoes"),
        "loafers": is_cat("flats") & stitched & ~open_toe & (straps == 0) & ~laces & ~open_back,
        "oxfords": is_cat("flats") & laces & ~open_toe,
        "cowboy boots": boots & (toe == TOE_SHAPES.index("pointed")) & (shaft >= SHAFT_HEIGHTS.index("mid-calf"))
        & stitched & (params["heel_shape"].astype(np.int64) == HEEL_SHAPES.index("block")),
        "chelsea boots": boots & (params["closure"].astype(np.int64) == CLOSURES.index("elastic")),
        "combat boots": boots & laces & params["lug_sole"].astype(bool),
        "booties": boots & (shaft == SHAFT_HEIGHTS.index("ankle")) & (params["heel_height"] >= 5.0),
        "high-tops": is_cat("sneakers", "athletic shoes") & (shaft == SHAFT_HEIGHTS.index("ankle")),
    }


def validate_params(params: ShoeParams) -> int:
    """Check a column table against the schema; return its length or raise ValueError."""
    missing = [c for c in ALL_COLUMNS if c not in params]
    if missing:
        raise ValueError(f"parameter table is missing columns {missing}")
    lengths = {len(params[c]) for c in ALL_COLUMNS}
    if len(lengths) != 1:
        raise ValueError(f"parameter columns have different lengths {sorted(lengths)}")
    for name, kind in CAPTIONED_COLUMNS.items():
        col = params[name]
        if isinstance(kind, tuple) and len(col) and (col.min() < 0 or col.max() >= len(kind)):
            raise ValueError(f"column {name!r} has codes outside 0..{len(kind) - 1}")
    return lengths.pop()


def item(params: ShoeParams, i: int) -> dict[str, object]:
    """One item as readable values (names instead of codes), for debugging and captions."""
    row: dict[str, object] = {}
    for name in ALL_COLUMNS:
        v = params[name][i]
        kind = CAPTIONED_COLUMNS.get(name, "cm")
        row[name] = kind[int(v)] if isinstance(kind, tuple) else v.item()
    return row
