"""Relative captions from ground truth: what a shopper types after "Unlike the provided image, the one I want ...".

The grammar works in claims (`simulators.language.claims`). It picks true and salient claims of a
pair (`claim_matrices`), realises each with one of many phrasings from the claims' phrase inventory
and joins them into a caption, so `parse_claims` reads every caption back to the claims it makes.
The realisation's mixture (structure, number of claims, topics, length) is tuned so the corpus
matches the human figures of docs/design.md section 4 (see `simulators.language.stats`). A change to
what it samples for a given seed bumps `GRAMMAR_VERSION` (in claims.py, beside the phrasings).
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from simulators.catalog.attributes import compute_attributes
from simulators.catalog.params import CATEGORIES, COLOUR_NAMES, FINISHES, HEEL_SHAPES, PATTERNS, TOE_SHAPES, ShoeParams
from simulators.language.claims import (
    ADJ_PHRASES,
    CLAIM_INDEX,
    CLAIMS,
    HEDGES,
    INSTEAD,
    MOD_PHRASES,
    NEG_PHRASES,
    NOUN_PHRASES,
    NP_PHRASES,
    PP_HEDGES,
    PP_PHRASES,
    SAME_ITEM_PHRASE,
    SPECS,
    TOPICS,
    WANT,
    Claim,
    Phrase,
    claim_matrices,
)
from simulators.seeding import make_rng


class Caption(NamedTuple):
    """A generated caption and the claims it makes, in the order they appear in the text."""

    text: str
    claims: tuple[Claim, ...]


_STRUCTURES = ("are", "is", "have", "has", "other")
_FRAGMENTS = ("are", "have", "with", "looks", "want", "except", "neg")
"""Openings of "other" captions (see GrammarConfig.fragment_weights)."""
# Per claim (indexed like CLAIMS): its topic's index in TOPICS, whether it is relative, whether a negation.
_TOPIC_OF = tuple(TOPICS.index(s.topic) for s in SPECS)
_IS_RELATIVE = tuple(s.relative for s in SPECS)
_NEGATION = tuple(s.claim.kind == "no" for s in SPECS)
_IS_STYLE = tuple(s.claim.kind == "style" for s in SPECS)


def _value_claims(kind: str, column: str, vocab: tuple[str, ...]) -> tuple[str, np.ndarray]:
    """(column, claim index of each code's Claim(kind, value), -1 where there is none)."""
    return column, np.array([CLAIM_INDEX.get(Claim(kind, v), -1) for v in vocab], dtype=np.int64)


_INSTEAD_OF: dict[str, tuple[str, np.ndarray]] = {
    "colour": _value_claims("colour", "primary_colour", COLOUR_NAMES),
    "finish": _value_claims("finish", "finish", FINISHES),
    "pattern": _value_claims("pattern", "pattern", PATTERNS),
    "heel_shape": _value_claims("heel_shape", "heel_shape", HEEL_SHAPES),
    "toe": _value_claims("toe", "toe_shape", TOE_SHAPES),
    "category": _value_claims("category", "category", CATEGORIES),
}
"""Claim kinds that may end in "instead of <the reference's value>": the reference's claim per parameter code."""


@dataclass(frozen=True)
class GrammarConfig:
    """The mixture the generator samples from; tuned so the corpus matches docs/design.md section 4."""

    structure_weights: tuple[float, ...] = (0.3533, 0.2778, 0.1632, 0.1431, 0.0697)
    """Caption opening: "are", "is" (adjectives), "have", "has" (noun phrases), other (fragments)."""
    claim_count_weights: tuple[float, ...] = (0.366, 0.476, 0.159)
    """How many claims a relative caption makes: 1, 2 or 3."""
    topic_weights: dict[str, float] = field(default_factory=lambda: {
        "colour": 11.0224, "heel": 7.9614, "strap_closure": 3.6905, "material_finish": 2.0757, "toe": 11.761,
        "shaft_height": 9.3615, "ornaments": 4.615, "sole": 0.8113, "pattern": 1.8687, "category": 0.0434,
        "style": 0.6, "back": 0.3, "details": 0.3})
    """How readily each topic is chosen among the topics the pair differs in."""
    relative_weight: float = 0.3446
    """Weight of a comparative claim against an absolute one within a topic."""
    negation_weight: float = 0.7842
    """Weight of a negation ("no laces") against other claims within a topic."""
    length_weights: tuple[float, ...] = (0.034, 1.81957, 0.90813, 1.01543, 0.90534, 0.49954, 0.17953, 0.04533, 0.00752,
                                         0.00139, 5e-05, 3e-05, 2e-05)
    """Tilt towards each caption length 1..13 words (longer captions are never chosen)."""
    outright_length_weights: tuple[float, ...] = (0.0, 0.05, 0.2, 0.25, 0.2, 0.15, 0.1, 0.05, 0.02, 0.01, 0.0,
                                                  0.0, 0.0)
    """The same tilt for outright descriptions in relative rows."""
    single_length_weights: tuple[float, ...] = (0.0, 0.0, 0.05, 0.15, 0.2, 0.2, 0.17, 0.12, 0.07, 0.04, 0.0, 0.0,
                                                0.0)
    """The same tilt for single-image captions."""
    outright_different_category: float = 0.7
    """Chance of describing the target outright when the reference is another category."""
    outright_same_category: float = 0.08
    """Same chance when the pair shares a category but differs in at least `outright_min_topics` topics."""
    outright_min_topics: int = 5
    hedge_weight: float = 0.12
    """Weight of opening with a hedge ("are the same but darker") against opening straight away (1)."""
    instead_weight: float = 0.15
    """Weight (against 1 - it) of ending a caption that ends in a colour, finish, pattern, heel, toe or category
    with "instead of <the reference's>" ("are red instead of black"), before the length tilt."""
    fragment_weights: tuple[float, ...] = (0.3, 0.2, 0.1, 0.07, 0.08, 0.07, 0.18)
    """Fragment openings: bare adjective, bare noun phrase, "with ...", "looks ...", "i want them ...",
    "identical except with ...", "does not have ..." (the last only if a negation was chosen; it is then said alone)."""
    style_noun_weight: float = 1.5
    """Weight of a style noun ("cowboy boots") against the category's nouns in an outright description."""
    comma_weight: float = 0.35
    """Joiner weights: ", red", " and red", " with laces", " and has laces" (the last only at the end)."""
    and_weight: float = 0.6239
    with_weight: float = 0.5615
    and_verb_weight: float = 0.45


class _Draws:
    """Uniform numbers from one numpy generator, drawn in blocks (one rng call per 64 numbers)."""

    __slots__ = ("rng", "buf", "pos")

    def __init__(self, rng: np.random.Generator):
        self.rng, self.buf, self.pos = rng, [], 0

    def u(self) -> float:
        if self.pos >= len(self.buf):
            self.buf, self.pos = self.rng.random(64).tolist(), 0
        self.pos += 1
        return self.buf[self.pos - 1]

    def take(self, k: int) -> list[float]:
        """The next k numbers (the same numbers k calls of u() would give)."""
        if self.pos + k > len(self.buf):
            self.buf, self.pos = self.buf[self.pos:] + self.rng.random(64).tolist(), 0
        self.pos += k
        return self.buf[self.pos - k:self.pos]

    def pick(self, weights: Sequence[float]) -> int:
        """Index drawn with probability proportional to `weights` (which must not all be zero)."""
        x = self.u() * sum(weights)
        for i, w in enumerate(weights):
            x -= w
            if x < 0 and w > 0:
                return i
        return max(i for i, w in enumerate(weights) if w > 0)


class _Option(NamedTuple):
    text: str
    words: int
    weight: float
    claims: tuple[Claim, ...]


class _Slot(NamedTuple):
    """A slot's options: flat with running weights for proposals, and grouped by length in words
    for the exact pass."""

    lengths: tuple[int, ...]
    totals: tuple[float, ...]
    """Summed weight of the options of each length."""
    options: tuple[tuple[_Option, ...], ...]
    weights: tuple[tuple[float, ...], ...]
    flat: tuple[_Option, ...]
    cumulative: tuple[float, ...]
    """Running sum over `flat` of weight * tilt ** words."""
    tilt: float
    shortest: int

    def propose(self, u: float) -> _Option:
        """The option a uniform number u in [0, 1) picks, in proportion to weight * tilt ** words."""
        return self.flat[bisect.bisect_right(self.cumulative, u * self.cumulative[-1], 0, len(self.flat) - 1)]

    def materialise(self) -> _Slot:
        return self


class _Union(NamedTuple):
    """The options of several cached slots as one slot, without building it (for combinations too
    many to cache): a part is drawn in proportion to its total, then an option within it."""

    parts: tuple[_Slot, ...]
    cumulative: tuple[float, ...]
    tilt: float
    shortest: int

    @classmethod
    def of(cls, parts: Sequence[_Slot]) -> _Union:
        return cls(tuple(parts), tuple(itertools.accumulate(p.cumulative[-1] for p in parts)), parts[0].tilt,
                   min(p.shortest for p in parts))

    def propose(self, u: float) -> _Option:
        c = self.cumulative
        x = u * c[-1]
        i = bisect.bisect_right(c, x, 0, len(c) - 1)
        low = c[i - 1] if i else 0.0
        return self.parts[i].propose((x - low) / (c[i] - low))  # the rest of u is uniform within part i

    def materialise(self) -> _Slot:
        return _slot([o for p in self.parts for o in p.flat], self.tilt)


def _slot(options: Sequence[_Option], tilt: float) -> _Slot:
    """A slot of the options with positive weight, proposed under `tilt` (see `_sample_slots`)."""
    groups: dict[int, list[_Option]] = {}
    for o in options:
        if o.weight > 0:
            groups.setdefault(o.words, []).append(o)
    lengths = tuple(sorted(groups))
    flat = tuple(o for n in lengths for o in groups[n])
    return _Slot(lengths, tuple(sum(o.weight for o in groups[n]) for n in lengths),
                 tuple(tuple(groups[n]) for n in lengths), tuple(tuple(o.weight for o in groups[n]) for n in lengths),
                 flat, tuple(itertools.accumulate(o.weight * tilt ** o.words for o in flat)), tilt, lengths[0])


_RELATIVE_TILT, _OUTRIGHT_TILT = 0.6, 0.7
"""Proposal tilts of the slots of relative captions and of outright descriptions: chosen for speed
(fewest rejected proposals under the default length weights); they do not change what is sampled."""
_REJECTION_TRIES = 64
"""Proposals `_sample_slots` makes before it falls back to the exact pass (which also covers the case
where no length the slots can make has any weight)."""


def _acceptance(length_weights: tuple[float, ...], tilt: float) -> tuple[float, ...]:
    """Chance of keeping a proposal of n words (index n - 1) under `tilt`: length_weights[n] / tilt ** n,
    scaled so the largest is 1."""
    key = (length_weights, tilt)
    table = _ACCEPTANCE.get(key)
    if table is None:
        ratios = [w / tilt ** n for n, w in enumerate(length_weights, start=1)]
        top = max(ratios)
        table = _ACCEPTANCE[key] = tuple(r / top if top > 0 else 0.0 for r in ratios)
    return table


_ACCEPTANCE: dict[tuple[tuple[float, ...], float], tuple[float, ...]] = {}


def _sample_slots(slots: Sequence[_Slot | _Union], length_weights: tuple[float, ...],
                  draws: _Draws) -> list[_Option]:
    """One option per slot, a combination drawn with probability proportional to the product of its
    options' weights times `length_weights` of its total length in words (1-based).

    Rejection sampling: each slot's option is proposed in proportion to its weight times
    tilt ** (its words), and the whole combination of n words kept with probability proportional
    to length_weights[n] / tilt ** n, which leaves exactly the distribution above. The slots' common
    tilt changes only the speed: below 1 it favours short proposals, for length weights that favour
    short captions. Usually a few proposals, each one uniform number per slot, against a pass over
    every reachable length (the exact fallback).
    """
    tilt = slots[0].tilt
    if any(s.tilt != tilt for s in slots):
        raise ValueError("slots sampled together must share one proposal tilt")
    accept = _acceptance(length_weights, tilt)
    limit, k = len(accept), len(slots)
    possible = sum([s.shortest for s in slots]) <= limit and any(accept)  # else only the fallback's rule applies
    for _ in range(_REJECTION_TRIES if possible else 0):
        us = draws.take(k + 1)
        chosen = [s.propose(u) for s, u in zip(slots, us, strict=False)]  # us has one more, for the acceptance
        n = sum([o.words for o in chosen])
        if 0 < n <= limit and us[k] < accept[n - 1]:
            return chosen
    return _sample_slots_exact([s.materialise() for s in slots], length_weights, draws)


def _sample_slots_exact(slots: Sequence[_Slot], length_weights: Sequence[float], draws: _Draws) -> list[_Option]:
    """`_sample_slots` by a forward pass over the reachable lengths and a backward draw; when no
    reachable length has any weight, lengths near 5 words are preferred instead."""
    masses = [{0: 1.0}]
    for slot in slots:
        nxt: dict[int, float] = {}
        for total, mass in masses[-1].items():
            for n, w in zip(slot.lengths, slot.totals, strict=True):
                nxt[total + n] = nxt.get(total + n, 0.0) + mass * w
        masses.append(nxt)
    totals = list(masses[-1])
    weights = [masses[-1][n] * (length_weights[n - 1] if 0 < n <= len(length_weights) else 0.0) for n in totals]
    if not any(weights):
        weights = [masses[-1][n] / (1 + abs(n - 5)) for n in totals]
    remaining = totals[draws.pick(weights)]
    chosen: list[_Option] = []
    for i in range(len(slots) - 1, -1, -1):
        slot, before = slots[i], masses[i]
        g = draws.pick([w * before.get(remaining - n, 0.0) for n, w in zip(slot.lengths, slot.totals, strict=True)])
        o = slot.options[g][draws.pick(slot.weights[g])]
        chosen.append(o)
        remaining -= o.words
    return chosen[::-1]


def _row_lists(mask: np.ndarray) -> list[list[int]]:
    """The column indices of the True entries of each row of a (B, C) bool matrix, as Python lists."""
    rows, cols = np.nonzero(mask)
    bounds = np.searchsorted(rows, np.arange(len(mask) + 1)).tolist()
    flat = cols.tolist()
    return [flat[bounds[b]:bounds[b + 1]] for b in range(len(mask))]


def _article(text: str) -> str:
    return "an" if text[:1] in "aeiou" else "a"


class CaptionGrammar:
    """Relative captions for batches of (target, reference) pairs; seeded, never false.

    >>> g = CaptionGrammar(seed=0)
    >>> g.describe(params, np.array([3]), np.array([7]))  # doctest: +SKIP
    ['are red with a higher heel']
    """

    def __init__(self, seed: int = 0, config: GrammarConfig | None = None):
        self.config = config or GrammarConfig()
        self.rng = make_rng(seed, "language", "grammar")
        cfg = self.config
        self._claim_weight = [
            s.weight * (cfg.relative_weight if s.relative else 1.0) * (cfg.negation_weight if _NEGATION[i] else 1.0)
            for i, s in enumerate(SPECS)]
        self._topic_weight = [cfg.topic_weights.get(t, 1.0) for t in TOPICS]
        self._attribute_cache: tuple[ShoeParams, np.ndarray] | None = None
        self._slot_cache: dict[tuple, Any] = {}

    def _attributes(self, params: ShoeParams) -> np.ndarray:
        """The attribute table of `params`, computed once per parameter table this grammar is used with."""
        if self._attribute_cache is None or self._attribute_cache[0] is not params:
            self._attribute_cache = (params, compute_attributes(params))
        return self._attribute_cache[1]

    # -- public batch API -------------------------------------------------------------------------

    def describe(self, params: ShoeParams, targets: np.ndarray, references: np.ndarray,
                 rng: np.random.Generator | None = None,
                 rngs: Sequence[np.random.Generator] | None = None) -> list[str]:
        """Caption text for each pair (see describe_with_claims for the randomness arguments)."""
        return [c.text for c in self.describe_with_claims(params, targets, references, rng, rngs)]

    def describe_with_claims(self, params: ShoeParams, targets: np.ndarray, references: np.ndarray,
                             rng: np.random.Generator | None = None,
                             rngs: Sequence[np.random.Generator] | None = None) -> list[Caption]:
        """Caption and claims for each pair. Randomness: `rngs` (one generator per row, so a row's
        caption depends only on its own generator), else `rng`, else the grammar's own generator."""
        targets = np.asarray(targets, dtype=np.int64).reshape(-1)
        references = np.asarray(references, dtype=np.int64).reshape(-1)
        if len(targets) != len(references):
            raise ValueError(f"got {len(targets)} targets but {len(references)} references")
        if rngs is not None and len(rngs) != len(targets):
            raise ValueError(f"got {len(rngs)} generators for {len(targets)} pairs")
        if len(targets) == 0:
            return []
        holds, salient, strong = claim_matrices(params, targets, references, self._attributes(params))
        same_category = (params["category"][targets] == params["category"][references]).tolist()
        same_item = (targets == references).tolist()
        true, avail, strong_rows = _row_lists(holds), _row_lists(salient), _row_lists(strong)
        instead = {kind: table[params[column][references].astype(np.int64)].tolist()
                   for kind, (column, table) in _INSTEAD_OF.items()}
        shared = None if rngs is not None else _Draws(rng if rng is not None else self.rng)
        out = []
        for b in range(len(targets)):
            draws = _Draws(rngs[b]) if rngs is not None else shared
            if same_item[b]:
                out.append(Caption(SAME_ITEM_PHRASE, ()))
                continue
            reference = {kind: values[b] for kind, values in instead.items()}
            out.append(self._relative(draws, true[b], avail[b], strong_rows[b], same_category[b], reference))
        return out

    def describe_single(self, params: ShoeParams, targets: np.ndarray,
                        rng: np.random.Generator | None = None) -> list[Caption]:
        """Outright descriptions of each target alone ("are tan suede ankle boots with a bow").

        Only absolute claims are used, so the caption is true against any reference.
        """
        targets = np.asarray(targets, dtype=np.int64).reshape(-1)
        holds, _, _ = claim_matrices(params, targets, targets, self._attributes(params))
        draws = _Draws(rng if rng is not None else self.rng)
        return [self._outright(draws, true, [j for j in true if not _IS_RELATIVE[j]],
                               self.config.single_length_weights, single=True) for true in _row_lists(holds)]

    # -- one caption ------------------------------------------------------------------------------

    def _relative(self, draws: _Draws, true: list[int], avail: list[int], strong: list[int],
                  same_category: bool, reference: dict[str, int]) -> Caption:
        """One relative caption from the pair's true claims, its salient ones (`avail`) and its
        strong ones (all indices into CLAIMS); `reference` maps a claim kind to the reference's claim
        of that kind (for "instead of")."""
        cfg = self.config
        by_topic: dict[int, list[int]] = {}
        for j in avail:
            by_topic.setdefault(_TOPIC_OF[j], []).append(j)
        if not avail:
            return self._outright(draws, true, [j for j in true if not _IS_RELATIVE[j]],
                                  cfg.outright_length_weights, single=False)
        p_outright = (cfg.outright_different_category if not same_category
                      else cfg.outright_same_category if len(by_topic) >= cfg.outright_min_topics else 0.0)
        if p_outright and draws.u() < p_outright:
            caption = self._outright(draws, true, avail, cfg.outright_length_weights, single=False)
            if any(CLAIM_INDEX[c] in avail for c in caption.claims):
                return caption
        k_weights = cfg.claim_count_weights[: len(by_topic)]
        k = 1 + draws.pick(k_weights)
        topics = list(by_topic)
        chosen: list[int] = []
        for _ in range(k):
            t = topics.pop(draws.pick([self._topic_weight[t] for t in topics]))
            members = by_topic[t]
            chosen.append(members[draws.pick([self._claim_weight[j] for j in members])])
        structure = _STRUCTURES[draws.pick(cfg.structure_weights)]
        return self._realise(draws, chosen, structure, strong, reference)

    def _usable(self, phrases: tuple[Phrase, ...], strong: bool, number: int = 0) -> list[Phrase]:
        return [p for p in phrases if (strong or not p.strong) and (not number or p.number in (0, number))]

    def _head_slot(self, j: int, family: str, number: int, verb: str, strong: bool) -> _Slot | None:
        """The caption's opening: `verb` and a phrasing of claim j in `family` ("adj", "np", "pp",
        "neg" or "pp_hedged"), with an optional hedge after "is"/"are" ("are the same but darker");
        "pp_hedged" always opens with one ("identical except with laces")."""
        key = ("head", j, family, number, verb, strong)
        if key not in self._slot_cache:
            by_family = {"adj": ADJ_PHRASES, "np": NP_PHRASES, "pp": PP_PHRASES, "pp_hedged": PP_PHRASES,
                         "neg": NEG_PHRASES}[family]
            phrases = self._usable(by_family[j], strong, number)
            opts = [] if family == "pp_hedged" else [
                _Option(verb + p.text, len(verb.split()) + p.words, p.weight, (CLAIMS[j],)) for p in phrases]
            hedges = HEDGES if family == "adj" and verb in ("is ", "are ") else PP_HEDGES if opts == [] else ()
            share = (1.0 if family == "pp_hedged" else self.config.hedge_weight) / max(len(hedges), 1)
            for h in hedges:
                opts += [_Option(f"{verb}{h} {p.text}", len(verb.split()) + len(h.split()) + p.words,
                                 share * p.weight, (CLAIMS[j],)) for p in phrases]
            self._slot_cache[key] = _slot(opts, _RELATIVE_TILT) if opts else None
        return self._slot_cache[key]

    def _tail_slot(self, j: int, family: str, number: int, last: bool, strong: bool) -> _Slot | None:
        """Claim j joined to a caption opened in `family`: ", x", " and x", " with x", " and has x" and
        " and does not have x" (the last two only at the end)."""
        key = ("tail", j, family, number, last, strong)
        if key not in self._slot_cache:
            cfg, claim = self.config, (CLAIMS[j],)
            cop, pos = ("is", "has") if number == 1 else ("are", "have")
            comma = cfg.comma_weight * (0.2 if last else 2.0)
            same, other = (ADJ_PHRASES, NP_PHRASES) if family == "adj" else (NP_PHRASES, ADJ_PHRASES)
            opts: list[_Option] = []

            def joined(joiner: str, phrases: list[Phrase], weight: float) -> None:
                """The phrasings after one joiner, sharing its weight (a claim with many phrasings is not favoured)."""
                total = sum(p.weight for p in phrases)
                opts.extend(_Option(joiner + p.text, len(joiner.split()) + p.words, weight * p.weight / total, claim)
                            for p in phrases)

            same_phrases = self._usable(same[j], strong, number if family == "adj" else 0)
            if same_phrases:
                joined(", ", same_phrases, comma)
                joined(" and ", same_phrases, cfg.and_weight)
            if last and family in ("adj", "np"):
                verb = pos if family == "adj" else cop
                other_phrases = self._usable(other[j], strong, number if family == "np" else 0)
                if other_phrases:
                    joined(f" and {verb} ", other_phrases, cfg.and_verb_weight)
                negated = self._usable(NEG_PHRASES[j], strong, number)
                if negated:
                    joined(" and ", negated, cfg.and_verb_weight)
            pps = self._usable(PP_PHRASES[j], strong)
            if pps:
                joined(" ", pps, cfg.with_weight * (1.0 if family == "adj" else 0.3))
            self._slot_cache[key] = _slot(opts, _RELATIVE_TILT) if opts else None
        return self._slot_cache[key]

    def _instead_slot(self, j: int, k: int, family: str, number: int) -> _Slot | None:
        """Optionally " instead of <the reference's claim k>" after claim j, which ends a caption opened
        in `family`: a bare colour, finish or pattern ("instead of black"), a heel or toe after noun
        phrases ("instead of a round toe"), a category after adjectives ("instead of sneakers")."""
        key = ("instead", j, k, family, number)
        if key not in self._slot_cache:
            kind = CLAIMS[k].kind
            phrases = (MOD_PHRASES[k] if kind in ("colour", "finish", "pattern") else
                       ADJ_PHRASES[k] if kind == "category" and family == "adj" else
                       NP_PHRASES[k] if kind in ("heel_shape", "toe") and family != "adj" else ())
            usable = [p for p in self._usable(phrases, False, number if kind == "category" else 0) if p.words <= 3]
            w = self.config.instead_weight
            total = sum(p.weight for p in usable) * len(INSTEAD)
            opts = [_Option(f" {joiner} {p.text}", len(joiner.split()) + p.words, w * p.weight / total, ())
                    for joiner in INSTEAD for p in usable]
            self._slot_cache[key] = _slot([_Option("", 0, 1.0 - w, ()), *opts], _RELATIVE_TILT) if opts else None
        return self._slot_cache[key]

    def _realise(self, draws: _Draws, chosen: list[int], structure: str, strong: list[int],
                 reference: dict[str, int]) -> Caption:
        fragment = structure == "other"
        if fragment:
            structure = _FRAGMENTS[draws.pick(self.config.fragment_weights)]
            negations = [j for j in chosen if NEG_PHRASES[j]]
            if structure == "neg" and negations:
                chosen = negations[:1]  # "does not have laces" stands alone
            elif structure == "neg":
                structure = "are"
        family = {"are": "adj", "is": "adj", "looks": "adj", "want": "adj", "have": "np", "has": "np", "with": "pp",
                  "except": "pp_hedged", "neg": "neg"}[structure]
        number = 1 if structure in ("is", "has", "looks") else 2
        verb = {"are": "" if fragment else "are ", "have": "" if fragment else "have ", "with": "", "except": "",
                "neg": ""}.get(structure, structure + " ")
        if structure in ("neg", "want"):
            number = 1 if draws.u() < 0.5 else 2
            verb = WANT[number - 1] + " " if structure == "want" else verb
        heads = [j for j in chosen if self._head_slot(j, family, number, verb, j in strong)]
        for fallback in (("is", "adj"), ("has", "np")) if not heads else ():
            structure, family = fallback[0] if number == 1 else {"is": "are", "has": "have"}[fallback[0]], fallback[1]
            verb = structure + " "
            heads = [j for j in chosen if self._head_slot(j, family, number, verb, j in strong)]
            if heads:
                break
        if not heads:
            raise AssertionError(f"claims {[str(CLAIMS[j]) for j in chosen]} have no usable phrasing")
        first = heads[draws.pick([1.0] * len(heads))]
        rest = [j for j in chosen if j != first]
        tail_family = {"neg": "np", "pp_hedged": "pp"}.get(family, family)
        middle = [j for j in rest if self._tail_slot(j, tail_family, number, False, j in strong)]
        order = [first, *middle, *[j for j in rest if j not in middle][:1]]
        slots = [self._head_slot(first, family, number, verb, first in strong)]
        last = first
        for i, j in enumerate(order[1:], start=2):
            slot = self._tail_slot(j, tail_family, number, i == len(order), j in strong)
            if slot is not None:
                slots.append(slot)
                last = j
        k = reference.get(CLAIMS[last].kind, -1)
        if k >= 0 and k != last and family != "neg" and CLAIMS[last].value != "closed":
            slot = self._instead_slot(last, k, tail_family, number)
            if slot is not None:
                slots.append(slot)
        while len(slots) > 1 and sum(s.shortest for s in slots) > len(self.config.length_weights):
            slots.pop()  # too many claims for the longest caption: the last ones go unsaid
        options = _sample_slots(slots, self.config.length_weights, draws)
        return Caption("".join(o.text for o in options), tuple(c for o in options for c in o.claims))

    def _cached_slot(self, key: tuple, options: Any) -> _Slot:
        """The outright-description slot made of `options()`, built once per key."""
        slot = self._slot_cache.get(key)
        if slot is None:
            slot = self._slot_cache[key] = _slot(options(), _OUTRIGHT_TILT)
        return slot
    def _noun_slot(self, cat: int, styles: tuple[int, ...], plural: bool) -> _Slot:
        """The head noun of an outright description: the category's nouns, or (sharing
        `style_noun_weight`) those of a style the target is of ("cowboy boots")."""
        def options() -> list[_Option]:
            out = []
            for j, share in ((cat, 1.0), *((j, self.config.style_noun_weight / len(styles)) for j in styles)):
                forms = [pair[0] if plural else pair[1] for pair in NOUN_PHRASES[j]]
                out += [_Option(n.text, n.words, share / len(forms), (CLAIMS[j],)) for n in forms]
            return out
        return self._cached_slot(("noun", cat, styles, plural), options)

    def _pp_slot(self, extras: tuple[int, ...]) -> _Union:
        """An outright description's optional trailing phrase: nothing, or one of `extras` as
        " with ..." (each claim's phrasings sharing weight 1)."""
        def phrases(j: int) -> list[_Option]:
            usable = [p for p in PP_PHRASES[j] if not p.strong]
            total = sum(p.weight for p in usable)
            return [_Option(" " + p.text, p.words, p.weight / total, (CLAIMS[j],)) for p in usable]

        none = self._cached_slot(("pp-none", len(extras)), lambda: [_Option("", 0, len(extras) / 1.2 or 1.0, ())])
        return _Union.of([none, *(self._cached_slot(("pp", j), lambda j=j: phrases(j)) for j in extras)])

    def _mod_slot(self, j: int, skip_weight: float, weight: float) -> _Slot:
        """An optional prenominal modifier of claim j ("tan", "suede", "ankle")."""
        mods = MOD_PHRASES[j]
        total = sum(p.weight for p in mods)
        return self._cached_slot(("mod", j, skip_weight, weight), lambda: [
            _Option("", 0, skip_weight, ()), *(_Option(p.text + " ", p.words, weight * p.weight / total, (CLAIMS[j],))
                                               for p in mods)])

    def _outright(self, draws: _Draws, true: list[int], avail: list[int], length_weights: Sequence[float],
                  single: bool) -> Caption:
        """ "are tan suede ankle boots [with a bow]": colour, material or pattern, shaft, category noun, one PP.

        `true` lists the claims true of the target, `avail` those that may be added as a trailing phrase."""
        kinds = {CLAIMS[j].kind: j for j in true if CLAIMS[j].kind in ("category", "colour", "pattern", "finish",
                                                                        "shaft")}
        cat, colour = kinds["category"], kinds["colour"]
        plural = draws.u() < 0.8
        material = kinds.get("pattern", kinds.get("finish"))
        shaft = kinds.get("shaft") if CLAIMS[cat].value in ("boots", "rain boots") else None
        slots = [self._cached_slot(("opening", plural), lambda: [
                     _Option("are " if plural else "is a ", 1 if plural else 2, 1.0, ())]),
                 self._mod_slot(colour, 1.0, 2.0)]
        if material is not None:
            slots.append(self._mod_slot(material, 1.5, 1.0))
        if shaft is not None:
            slots.append(self._mod_slot(shaft, 0.6, len(MOD_PHRASES[shaft])))
        styles = tuple(j for j in true if _IS_STYLE[j])
        slots.append(self._noun_slot(cat, styles, plural))
        used_topics = {_TOPIC_OF[j] for j in (cat, colour, material, shaft) if j is not None}
        extras = tuple(j for j in avail if _TOPIC_OF[j] not in used_topics and PP_PHRASES[j]
                       and (SPECS[j].descriptive or (SPECS[j].relative and not single)))
        slots.append(self._pp_slot(extras))
        options = _sample_slots(slots, length_weights, draws)
        text = "".join(o.text for o in options)
        if not plural:
            rest = text[len("is a "):]
            text = f"is {_article(rest)} {rest}"
        return Caption(text, tuple(c for o in options for c in o.claims))
