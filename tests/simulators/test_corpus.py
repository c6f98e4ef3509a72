import time

import numpy as np
import pytest

from benchmarks.lexicon import DEFAULT_HUMAN_COUNTS
from simulators.catalog.params import sample_params
from simulators.language.claims import CLAIM_INDEX, GRAMMAR_WORDS, claim_holds, claim_matrices, parse_claims
from simulators.language.corpus import (
    DISTINCT_MIN_DIFFERENCES,
    RELATIVE,
    SINGLE,
    Corpus,
    build_corpus,
    parameter_differences,
)
from simulators.language.stats import (
    HUMAN_STATISTICS,
    corpus_statistics,
    largest_gaps,
    lexicon_statistics,
    read_word_counts,
)
from simulators.language.vocab import tokenize

TOLERANCE = 0.05


@pytest.fixture(scope="module")
def params():
    return sample_params(400, seed=0)


@pytest.fixture(scope="module")
def split():
    return np.random.default_rng(0).permutation(400)[:300]


@pytest.fixture(scope="module")
def corpus(params, split):
    return build_corpus(params, split, n_relative=1500, n_single=60, refs_per_single=5, seed=0)


def test_layout_and_split(corpus, split):
    assert len(corpus) == 1500 + 60 * 5
    assert (corpus.kind == RELATIVE).sum() == 1500 and (corpus.kind == SINGLE).sum() == 300
    assert np.isin(corpus.target_ids, split).all() and np.isin(corpus.reference_ids, split).all()
    assert (corpus.target_ids != corpus.reference_ids).all()
    assert len(corpus.relative_captions) == 1500


def test_every_caption_is_true_of_its_pair(params, corpus):
    for text, claims, t, r in zip(corpus.captions, corpus.claims, corpus.target_ids, corpus.reference_ids,
                                  strict=True):
        assert claims, text
        parsed = parse_claims(text)
        assert parsed == list(claims), text
        for claim in parsed:
            assert claim_holds(claim, params, int(t), int(r)), (text, str(claim))


def test_relative_captions_say_something_informative(params, corpus):
    rel = corpus.kind == RELATIVE
    _, salient, _ = claim_matrices(params, corpus.target_ids[rel], corpus.reference_ids[rel])
    claims = [c for c, k in zip(corpus.claims, corpus.kind, strict=True) if k == RELATIVE]
    for row, cs in zip(salient, claims, strict=True):
        assert any(row[CLAIM_INDEX[c]] for c in cs)


def test_same_category_share(params, corpus):
    rel = corpus.kind == RELATIVE
    same = params["category"][corpus.target_ids[rel]] == params["category"][corpus.reference_ids[rel]]
    assert abs(same.mean() - 0.93) < 0.03


def test_single_captions_use_distinct_references(params, corpus):
    single = np.flatnonzero(corpus.kind == SINGLE).reshape(-1, 5)
    for rows in single:
        target = corpus.target_ids[rows[0]]
        assert (corpus.target_ids[rows] == target).all()
        assert len({corpus.captions[i] for i in rows}) == 1
        refs = corpus.reference_ids[rows]
        assert len(set(refs.tolist())) == 5
        distinct = (params["category"][refs] != params["category"][target]) | (
            parameter_differences(params, np.full(5, target), refs) >= DISTINCT_MIN_DIFFERENCES)
        assert distinct.all()


def test_statistics_match_the_human_corpus():
    params = sample_params(1200, seed=11)
    corpus = build_corpus(params, np.arange(1200), n_relative=5000, n_single=0, seed=11)
    stats = corpus_statistics(corpus.relative_captions)
    gaps = largest_gaps(stats)
    assert set(gaps) >= {f"length_shares/{n}" for n in range(2, 11)} | {"first_word_shares/other"}
    bad = {k: round(v, 3) for k, v in gaps.items() if v > TOLERANCE}
    assert not bad, bad
    assert abs(stats["mean_words"] - HUMAN_STATISTICS["mean_words"]) < 0.3
    assert stats["max_words"] <= 13


def test_deterministic_and_seed_sensitive(params, split):
    a = build_corpus(params, split, n_relative=200, n_single=10, seed=4)
    b = build_corpus(params, split, n_relative=200, n_single=10, seed=4)
    c = build_corpus(params, split, n_relative=200, n_single=10, seed=5)
    assert a.captions == b.captions and (a.reference_ids == b.reference_ids).all()
    assert a.captions != c.captions


def test_save_load_round_trip(corpus, tmp_path):
    path = tmp_path / "corpus.json"
    corpus.save(path)
    again = Corpus.load(path)
    assert again.captions == corpus.captions and again.claims == corpus.claims
    for name in ("target_ids", "reference_ids", "kind"):
        assert (getattr(again, name) == getattr(corpus, name)).all()
        assert getattr(again, name).dtype == getattr(corpus, name).dtype
    assert again.meta == corpus.meta
    path.write_text('{"format": "something else"}')
    with pytest.raises(ValueError):
        Corpus.load(path)


def test_bad_arguments(params):
    with pytest.raises(ValueError):
        build_corpus(params, np.array([3]), n_relative=5, n_single=0)
    with pytest.raises(ValueError):
        build_corpus(params, np.arange(10), n_relative=5, n_single=0, same_category_share=1.5)


def test_paper_sized_corpus_is_fast():
    params = sample_params(10_000, seed=0)
    start = time.perf_counter()
    corpus = build_corpus(params, np.arange(10_000), seed=0)
    elapsed = time.perf_counter() - start
    assert len(corpus) == 10_751 + 3_600 * 5
    assert elapsed < 20.0, f"building the corpus took {elapsed:.1f} s"
    assert max(len(tokenize(t)) for t in corpus.captions) <= 13
    # World v2's breadth (the human corpus: 553 types said 5 times or more, top 300 words 93.5% of tokens)
    lexicon = lexicon_statistics(corpus.relative_captions)
    assert lexicon["types_at_least_5"] >= 450, lexicon
    assert lexicon["top300_token_share"] <= 0.97, lexicon
    gaps = largest_gaps(corpus_statistics(corpus.relative_captions))
    assert max(gaps.values()) <= 0.025, {k: round(v, 3) for k, v in gaps.items() if v > 0.02}


def test_lexicon_statistics_count_words_and_human_tokens(tmp_path):
    lexicon = lexicon_statistics(["is red", "is red and blue", "are red"], {"red": 6, "is": 2, "green": 4})
    assert lexicon["types"] == 5 and lexicon["types_at_least_5"] == 0 and lexicon["types_said_once"] == 3
    assert lexicon["top300_token_share"] == 1.0
    assert lexicon["human_tokens_said"] == pytest.approx(8 / (12 + 686))  # the words said once count too
    counts = tmp_path / "counts.tsv"
    counts.write_text("word\tcount\nred\t6\nis\t2\n", encoding="utf-8")
    assert read_word_counts(counts) == {"red": 6, "is": 2}
    counts.write_text("word\tcount\nred six\n", encoding="utf-8")
    with pytest.raises(ValueError, match="expected 'word<TAB>count'"):
        read_word_counts(counts)
    with pytest.raises(FileNotFoundError):
        read_word_counts(tmp_path / "missing.tsv")


@pytest.mark.skipif(not DEFAULT_HUMAN_COUNTS.is_file(), reason="the shared human word counts are not beside the repo")
def test_grammar_can_say_the_human_words():
    share = lexicon_statistics(["is"], read_word_counts(DEFAULT_HUMAN_COUNTS), GRAMMAR_WORDS)["human_tokens_sayable"]
    assert share >= 0.95
