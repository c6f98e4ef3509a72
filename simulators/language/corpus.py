"""The synthetic relative-caption corpus: the stand-in for the 10,751 human captions of Shoes.

Relative rows pair a target with a reference from the same split (93% of them from the same
category, as in the human data) and caption how the target differs. Single rows describe a target
outright and pair that caption with several visually distinct references, the way the paper
reused its 3,600 single-image captions as extra relative training data. Every row keeps the claims
its caption makes, so the corpus can be verified against the parameters.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simulators.catalog.params import CAPTIONED_COLUMNS, CATEGORIES, ShoeParams
from simulators.language.claims import GRAMMAR_VERSION, Claim, claim_matrices
from simulators.language.grammar import CaptionGrammar, GrammarConfig
from simulators.seeding import make_rng

RELATIVE, SINGLE = 0, 1
KINDS = ("relative", "single")
PAPER_N_RELATIVE, PAPER_N_SINGLE, PAPER_REFS_PER_SINGLE = 10_751, 3_600, 5
DISTINCT_MIN_DIFFERENCES = 7
"""A reference is visually distinct from a target if its category differs or this many parameters do."""
_FORMAT = "corpus-v1"


@dataclass
class Corpus:
    """Rows of (target id, reference id, kind, caption, claims); ids are catalog indices."""

    target_ids: np.ndarray
    """(M,) int64 catalog index of the item the shopper wants."""
    reference_ids: np.ndarray
    """(M,) int64 catalog index of the image the caption is relative to."""
    kind: np.ndarray
    """(M,) int8: RELATIVE (0) or SINGLE (1, an outright description reused against a distinct reference)."""
    captions: list[str]
    claims: list[tuple[Claim, ...]]
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.target_ids = np.asarray(self.target_ids, dtype=np.int64)
        self.reference_ids = np.asarray(self.reference_ids, dtype=np.int64)
        self.kind = np.asarray(self.kind, dtype=np.int8)
        m = len(self.target_ids)
        if not (len(self.reference_ids) == len(self.kind) == len(self.captions) == len(self.claims) == m):
            raise ValueError("corpus columns have different lengths")

    def __len__(self) -> int:
        return len(self.target_ids)

    @property
    def relative_captions(self) -> list[str]:
        """Captions of the relative rows (the part comparable with the human corpus statistics)."""
        return [c for c, k in zip(self.captions, self.kind, strict=True) if k == RELATIVE]

    @classmethod
    def concat(cls, *corpora: Corpus) -> Corpus:
        """The rows of `corpora` one after another; meta records each part's."""
        if not corpora:
            raise ValueError("concat needs at least one corpus")
        return cls(np.concatenate([c.target_ids for c in corpora]), np.concatenate([c.reference_ids for c in corpora]),
                   np.concatenate([c.kind for c in corpora]), [t for c in corpora for t in c.captions],
                   [cl for c in corpora for cl in c.claims], {"parts": [c.meta for c in corpora]})

    def save(self, path: str | Path) -> None:
        """Write as JSON (no pickle)."""
        doc = {"format": _FORMAT, "meta": self.meta, "target_ids": self.target_ids.tolist(),
               "reference_ids": self.reference_ids.tolist(), "kind": self.kind.tolist(), "captions": self.captions,
               "claims": [[str(c) for c in row] for row in self.claims]}
        Path(path).write_text(json.dumps(doc), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Corpus:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
            raise ValueError(f"{path} is not a {_FORMAT} JSON document")
        return cls(np.array(doc["target_ids"], dtype=np.int64), np.array(doc["reference_ids"], dtype=np.int64),
                   np.array(doc["kind"], dtype=np.int8), list(doc["captions"]),
                   [tuple(Claim.from_str(c) for c in row) for row in doc["claims"]], dict(doc.get("meta", {})))


def build_corpus(params: ShoeParams, train_indices: np.ndarray, n_relative: int = PAPER_N_RELATIVE,
                 n_single: int = PAPER_N_SINGLE, refs_per_single: int = PAPER_REFS_PER_SINGLE,
                 same_category_share: float = 0.93, seed: int = 0,
                 grammar_config: GrammarConfig | None = None) -> Corpus:
    """Caption `n_relative` pairs and `n_single` targets drawn from the items `train_indices`.

    Pass the train split for training data and the test split for evaluation data; no row ever
    mentions an item outside the given indices. Pairs whose items differ in nothing the grammar can
    say are redrawn, so every caption makes at least one claim.
    """
    split = np.unique(np.asarray(train_indices, dtype=np.int64))
    if len(split) < 2:
        raise ValueError("need at least two items to pair")
    if not 0.0 <= same_category_share <= 1.0:
        raise ValueError(f"same_category_share must be in [0, 1], got {same_category_share}")
    if min(n_relative, n_single, refs_per_single) < 0:
        raise ValueError("corpus sizes must be non-negative")
    grammar = CaptionGrammar(seed, grammar_config)
    targets, refs = relative_pairs(params, split, n_relative, same_category_share, make_rng(seed, "corpus", "pairs"))
    relative = grammar.describe_with_claims(params, targets, refs, rng=make_rng(seed, "corpus", "relative"))
    single_targets = make_rng(seed, "corpus", "single-targets").choice(split, n_single, replace=n_single > len(split))
    singles = grammar.describe_single(params, single_targets, rng=make_rng(seed, "corpus", "single"))
    single_refs = distinct_references(params, split, single_targets, refs_per_single,
                                       make_rng(seed, "corpus", "single-refs"))
    captions = [c.text for c in relative] + [c.text for c in singles for _ in range(refs_per_single)]
    claims = [c.claims for c in relative] + [c.claims for c in singles for _ in range(refs_per_single)]
    meta = {"grammar_version": GRAMMAR_VERSION, "seed": seed, "n_relative": n_relative, "n_single": n_single,
            "refs_per_single": refs_per_single, "same_category_share": same_category_share, "n_items": len(split)}
    return Corpus(np.concatenate([targets, np.repeat(single_targets, refs_per_single)]),
                  np.concatenate([refs, single_refs.reshape(-1)]),
                  np.concatenate([np.full(len(targets), RELATIVE), np.full(n_single * refs_per_single, SINGLE)]),
                  captions, claims, meta)


def relative_pairs(params: ShoeParams, split: np.ndarray, n: int, same_share: float,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(targets, references): distinct items, `same_share` of them from one category, each with something to say."""
    cats = params["category"][split].astype(np.int64)
    groups = [split[cats == c] for c in range(len(CATEGORIES))]
    others = [split[cats != c] if (cats != c).any() else split for c in range(len(CATEGORIES))]
    targets = np.empty(n, dtype=np.int64)
    refs = np.empty(n, dtype=np.int64)
    todo = np.arange(n)
    for _ in range(100):
        if not len(todo):
            break
        m = len(todo)
        t = split[rng.integers(len(split), size=m)]
        tc = params["category"][t].astype(np.int64)
        same = rng.random(m) < same_share
        r = np.empty(m, dtype=np.int64)
        for row in range(m):
            pool = groups[tc[row]] if same[row] and len(groups[tc[row]]) > 1 else others[tc[row]]
            r[row] = pool[int(rng.integers(len(pool)))]
        _, salient, _ = claim_matrices(params, t, r)
        ok = (t != r) & salient.any(axis=1)
        targets[todo[ok]], refs[todo[ok]] = t[ok], r[ok]
        todo = todo[~ok]
    if len(todo):
        raise ValueError("could not find enough distinguishable pairs in the given items")
    return targets, refs


def parameter_differences(params: ShoeParams, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Number of captioned parameters in which items a and b visibly differ (heel >= 2 cm, sole >= 1 cm)."""
    count = np.zeros(np.broadcast(a, b).shape, dtype=np.int64)
    for name, kind in CAPTIONED_COLUMNS.items():
        x, y = params[name][a], params[name][b]
        if kind == "cm":
            count += np.abs(x.astype(np.float64) - y) >= (2.0 if name == "heel_height" else 1.0)
        else:
            count += x != y
    return count


def distinct_references(params: ShoeParams, split: np.ndarray, targets: np.ndarray, k: int,
                         rng: np.random.Generator) -> np.ndarray:
    """(len(targets), k) references, each of another category or differing in many parameters."""
    out = np.empty((len(targets), k), dtype=np.int64)
    for row, t in enumerate(targets):
        picked: list[int] = []
        for _ in range(50):
            cand = split[rng.integers(len(split), size=4 * k)]
            good = (params["category"][cand] != params["category"][t]) | (
                parameter_differences(params, np.full(len(cand), t), cand) >= DISTINCT_MIN_DIFFERENCES)
            for c in cand[good]:
                if c != t and c not in picked:
                    picked.append(int(c))
            if len(picked) >= k:
                break
        if len(picked) < k:
            raise ValueError(f"item {t} has fewer than {k} visually distinct references in the given items")
        out[row] = picked[:k]
    return out
