import numpy as np
import pytest

from simulators.catalog.params import CATEGORIES
from simulators.language.claims import CLAIMS, SAME_ITEM_PHRASE, Claim, claim_holds, claim_matrices, parse_claims
from simulators.language.grammar import (
    CaptionGrammar,
    _Draws,
    _Option,
    _sample_slots,
    _sample_slots_exact,
    _slot,
    _Union,
)
from simulators.language.vocab import tokenize


def test_generated_captions_are_true_and_parse_back(params, pairs):
    grammar = CaptionGrammar(seed=3)
    captions = grammar.describe_with_claims(params, *pairs)
    _, salient, _ = claim_matrices(params, *pairs)
    for (text, claims), a, b, row in zip(captions, *pairs, salient, strict=True):
        assert text and text == text.strip() and "  " not in text
        if a == b:
            assert text == SAME_ITEM_PHRASE and claims == ()
            continue
        assert parse_claims(text) == list(claims), text
        assert all(claim_holds(c, params, int(a), int(b)) for c in claims), text
        if row.any():
            assert any(row[CLAIMS.index(c)] for c in claims), f"uninformative caption {text!r}"
        assert 1 <= len(tokenize(text)) <= 13


def test_single_descriptions_hold_against_any_reference(params):
    targets = np.arange(0, 400, 7)
    for (text, claims), t in zip(CaptionGrammar(seed=1).describe_single(params, targets), targets, strict=True):
        assert text.split()[0] in ("are", "is")
        category = Claim("category", CATEGORIES[int(params["category"][t])])
        assert category in claims or any(c.kind == "style" for c in claims), text  # the noun: category or style
        assert parse_claims(text) == list(claims)
        assert all(not c.kind.endswith("_rel") for c in claims)
        assert all(claim_holds(c, params, int(t), int((t + 1) % 400)) for c in claims)


def test_seeded_and_reproducible(params, pairs):
    a = CaptionGrammar(seed=5).describe(params, *pairs)
    b = CaptionGrammar(seed=5).describe(params, *pairs)
    c = CaptionGrammar(seed=6).describe(params, *pairs)
    assert a == b and a != c
    rng1, rng2 = np.random.default_rng(9), np.random.default_rng(9)
    assert CaptionGrammar(0).describe(params, *pairs, rng=rng1) == CaptionGrammar(1).describe(params, *pairs, rng=rng2)


def test_per_row_generators_make_rows_independent(params, pairs):
    targets, refs = pairs[0][:20], pairs[1][:20]
    grammar = CaptionGrammar(seed=0)
    batch = grammar.describe(params, targets, refs, rngs=[np.random.default_rng(i) for i in range(20)])
    alone = [grammar.describe(params, targets[i:i + 1], refs[i:i + 1], rngs=[np.random.default_rng(i)])[0]
             for i in range(20)]
    assert batch == alone


def test_bad_batches_are_refused(params):
    grammar = CaptionGrammar()
    with pytest.raises(ValueError):
        grammar.describe(params, np.array([1, 2]), np.array([3]))
    with pytest.raises(ValueError):
        grammar.describe(params, np.array([1]), np.array([3]), rngs=[])
    assert grammar.describe(params, np.array([], dtype=int), np.array([], dtype=int)) == []


def _tiny_slots(tilt):
    a = _slot([_Option("x", 1, 1.0, ()), _Option("x x", 2, 2.0, ()), _Option("x x x", 3, 0.5, ())], tilt)
    b = _slot([_Option("", 0, 1.0, ()), _Option("y", 1, 1.0, ()), _Option("y y y y", 4, 3.0, ())], tilt)
    c1 = _slot([_Option("z", 1, 0.5, ())], tilt)
    c2 = _slot([_Option("z z", 2, 1.0, ()), _Option("", 0, 0.25, ())], tilt)
    return [a, b, _Union.of([c1, c2])]


@pytest.mark.parametrize("tilt", [1.0, 0.6])
def test_rejection_sampler_draws_the_exact_distribution(tilt):
    """The fast sampler and the exact forward-backward pass give the same combination frequencies."""
    lengths = (0.1, 0.8, 0.3, 0.5, 1.0, 0.6, 0.0, 0.05)
    slots = _tiny_slots(tilt)
    exact_slots = [s.materialise() for s in slots]
    n = 40_000
    counts = [{}, {}]
    for k, (sampler, ss) in enumerate(((_sample_slots, slots), (_sample_slots_exact, exact_slots))):
        draws = _Draws(np.random.default_rng(k))
        for _ in range(n):
            key = tuple(o.text for o in sampler(ss, lengths, draws))
            counts[k][key] = counts[k].get(key, 0) + 1
    keys = sorted(set(counts[0]) | set(counts[1]))
    assert set(counts[0]) == set(counts[1])
    p = np.array([counts[0].get(key, 0) for key in keys]) / n
    q = np.array([counts[1].get(key, 0) for key in keys]) / n
    assert np.abs(p - q).max() < 0.01, dict(zip(keys, zip(p, q, strict=True), strict=True))
    assert all(sum(len(t.split()) for t in key) != 7 for key in keys)  # length weight 0: never drawn


def test_sampler_falls_back_when_no_length_has_weight():
    slots = _tiny_slots(1.0)
    out = _sample_slots(slots, (0.0, 0.0), _Draws(np.random.default_rng(0)))
    assert len(out) == 3  # lengths near 5 words preferred instead of failing


def test_sampler_refuses_mixed_tilts():
    slots = [_slot([_Option("x", 1, 1.0, ())], 1.0), _slot([_Option("y", 1, 1.0, ())], 0.5)]
    with pytest.raises(ValueError, match="tilt"):
        _sample_slots(slots, (1.0, 1.0), _Draws(np.random.default_rng(0)))
