"""The ten WhittleSearch shoe attributes, derived from the generative parameters.

Each attribute is a continuous score in [0, 1], a fixed weighted sum of visible parameters, so
relative-attribute feedback ("more shiny, less pointy") is always grounded in what the image
shows. Continuous parameters (heel height, platform, colour lightness) keep ties rare.
"""

from __future__ import annotations

import numpy as np

from simulators.catalog.params import (
    CATEGORIES,
    COLOURS,
    FINISH_SHINE,
    FINISHES,
    MAX_HEEL_CM,
    MAX_PLATFORM_CM,
    MAX_STRAPS,
    ORNAMENTS,
    PATTERNS,
    SHAFT_HEIGHTS,
    TOE_POINTINESS,
    TOE_SHAPES,
    ShoeParams,
)

ATTRIBUTES: tuple[str, ...] = (
    "pointy-at-the-front",
    "open",
    "bright-in-colour",
    "covered-with-ornaments",
    "shiny",
    "high-at-the-heel",
    "long-on-the-leg",
    "formal",
    "sporty",
    "feminine",
)
# Short words for feedback sentences: "more shiny", "less pointy".
ATTRIBUTE_WORDS: dict[str, str] = {
    "pointy-at-the-front": "pointy",
    "open": "open",
    "bright-in-colour": "bright",
    "covered-with-ornaments": "ornamented",
    "shiny": "shiny",
    "high-at-the-heel": "high-heeled",
    "long-on-the-leg": "long",
    "formal": "formal",
    "sporty": "sporty",
    "feminine": "feminine",
}

_SHAFT = {"none": 0.0, "ankle": 0.35, "mid-calf": 0.7, "knee": 1.0}
_FORMAL_CAT = {"boots": 0.35, "rain boots": 0.0, "athletic shoes": 0.0, "sneakers": 0.05,
               "clogs": 0.1, "flats": 0.45, "pumps": 0.85, "high heels": 0.7, "stilettos": 0.85,
               "wedding shoes": 1.0}
_SPORTY_CAT = {"boots": 0.15, "rain boots": 0.35, "athletic shoes": 1.0, "sneakers": 0.8,
               "clogs": 0.2, "flats": 0.1, "pumps": 0.0, "high heels": 0.0, "stilettos": 0.0,
               "wedding shoes": 0.0}
_FEMININE_CAT = {"boots": 0.35, "rain boots": 0.3, "athletic shoes": 0.1, "sneakers": 0.15,
                 "clogs": 0.2, "flats": 0.6, "pumps": 0.75, "high heels": 0.85, "stilettos": 0.95,
                 "wedding shoes": 1.0}
_FEMININE_COLOUR = {"pink": 1.0, "red": 0.7, "purple": 0.7, "white": 0.5, "gold": 0.5, "silver": 0.5, "fuchsia": 1.0,
                    "lilac": 0.9, "coral": 0.8, "cream": 0.5, "burgundy": 0.5, "light blue": 0.5}


def _lookup(table: dict[str, float], vocab: tuple[str, ...], codes: np.ndarray) -> np.ndarray:
    return np.array([table.get(v, 0.0) for v in vocab], dtype=np.float64)[codes.astype(np.int64)]


def compute_attributes(params: ShoeParams) -> np.ndarray:
    """(N, 10) float32 attribute scores in [0, 1], columns in the order of ATTRIBUTES."""
    colour_light = np.array([c.lightness for c in COLOURS])[params["primary_colour"].astype(int)]
    colour_sat = np.array([c.saturation for c in COLOURS])[params["primary_colour"].astype(int)]
    heel = params["heel_height"].astype(np.float64) / MAX_HEEL_CM
    platform = params["platform"].astype(np.float64) / MAX_PLATFORM_CM
    straps = params["strap_count"].astype(np.float64) / MAX_STRAPS
    shaft = _lookup(_SHAFT, SHAFT_HEIGHTS, params["shaft_height"])
    shine = _lookup(FINISH_SHINE, FINISHES, params["finish"])
    toe = params["toe_shape"].astype(int)
    open_toe = (toe == TOE_SHAPES.index("open")).astype(np.float64)
    ornament = (params["ornament"] != ORNAMENTS.index("none")).astype(np.float64)
    patterned = (params["pattern"] != PATTERNS.index("solid")).astype(np.float64)
    cat = params["category"]
    stiletto_heel = (params["heel_shape"] == 2).astype(np.float64)

    pointy = 0.85 * _lookup(TOE_POINTINESS, TOE_SHAPES, toe) + 0.15 * stiletto_heel
    opened = np.clip(0.45 * open_toe + 0.3 * params["open_back"] + 0.25 * straps * (1 - shaft)
                     + 0.2 * (1 - shaft) - 0.2 * shaft, 0, 1)
    bright = np.clip(0.65 * colour_sat * (0.4 + 0.6 * colour_light) + 0.35 * colour_light, 0, 1)
    ornamented = np.clip(0.45 * ornament + 0.15 * params["buckle"] + 0.15 * params["fur_trim"]
                         + 0.15 * straps + 0.15 * patterned + 0.1 * params["stitching"] + 0.1 * params["two_tone"],
                         0, 1)
    shiny = np.clip(0.9 * shine + 0.1 * (params["ornament"] == ORNAMENTS.index("rhinestones")), 0, 1)
    high = np.clip(0.85 * heel + 0.15 * platform, 0, 1)
    long_leg = shaft
    formal = np.clip(0.6 * _lookup(_FORMAL_CAT, CATEGORIES, cat) + 0.2 * shine + 0.2 * heel
                     - 0.15 * params["laces"] - 0.1 * patterned, 0, 1)
    sporty = np.clip(0.7 * _lookup(_SPORTY_CAT, CATEGORIES, cat) + 0.2 * params["laces"]
                     + 0.1 * platform * (heel < 0.1) - 0.1 * heel + 0.1 * params["logo"] + 0.1 * params["lug_sole"],
                     0, 1)
    feminine = np.clip(0.5 * _lookup(_FEMININE_CAT, CATEGORIES, cat)
                       + 0.2 * _lookup(_FEMININE_COLOUR, tuple(c.name for c in COLOURS), params["primary_colour"])
                       + 0.15 * heel + 0.1 * (params["ornament"] == ORNAMENTS.index("bow"))
                       + 0.05 * pointy, 0, 1)
    out = np.stack([pointy, opened, bright, ornamented, shiny, high, long_leg, formal, sporty, feminine], axis=1)
    return out.astype(np.float32)
