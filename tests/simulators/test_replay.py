"""The human-replay user, on the tiny catalog and a caption file of our own (no human caption is in the repository)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from simulators import registry
from simulators.cache import ArtifactCache
from simulators.human_captions import HUMAN_CAPTIONS_ENV, RelativeCaption, read_relative_captions
from simulators.language.claims import CLAIMS, SAME_ITEM_PHRASE, claim_holds, claim_matrices
from simulators.replay import (
    HumanCorpusConfig,
    HumanReplayUser,
    caption_part,
    load_human_corpus,
    replay_captions,
    replay_corpus,
    scalar_truth,
)
from simulators.seeding import make_rng

# Captions written for these tests in the published format; the last two are not usable.
TEXTS = ["is darker with a higher heel", "has no laces", "is shinier", "is much darker", "are lighter",
         "has a lower heel", "is a lot less pointy", "is green instead of orange", "are black", "are boots",
         "has a thicker sole", "not as shiny", "is more colorful", "has laces", "is a lot taller", "has a wedge heel",
         "is plainer", "is brighter and has a higher heel", "has black laces", "is taupe"]
RECORDS = [{"ImageName": f"img_{i}.jpg", "ReferenceImageName": f"img_ref_{i}.jpg", "RelativeCaption": text}
           for i in range(200) for text in TEXTS[i % len(TEXTS):][:2]]


@pytest.fixture(scope="module")
def tiny():
    return registry.load_catalog("tiny", progress=False)


@pytest.fixture(scope="module")
def caption_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("captions") / "relative_captions_shoes.json"
    path.write_text(json.dumps(RECORDS + RECORDS[:5]), encoding="utf-8")  # five duplicate records
    return path


@pytest.fixture(scope="module")
def every_caption(tiny, caption_file):
    return HumanReplayUser(tiny.params, replay_captions(read_relative_captions(caption_file).unique()))


def random_pairs(n_items: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, n_items, n), rng.integers(0, n_items, n)


def test_the_split_is_stable_disjoint_and_about_80_20(caption_file):
    names = [f"img_{i}.jpg" for i in range(2000)]
    parts = [caption_part(n) for n in names]
    assert parts == [caption_part(n) for n in reversed(names)][::-1]  # by name alone, not by order
    assert 0.16 < parts.count("heldout") / len(parts) < 0.24
    records = read_relative_captions(caption_file).unique()
    train = {r.target for r in records if caption_part(r.target) == "train"}
    heldout = {r.target for r in records if caption_part(r.target) == "heldout"}
    assert train and heldout and not train & heldout and train | heldout == {r.target for r in records}
    shuffled = [records[i] for i in np.random.default_rng(0).permutation(len(records))]
    for part in ("train", "heldout"):
        assert {m.text for m in replay_captions(shuffled, part)} == {m.text for m in replay_captions(records, part)}


def test_only_usable_distinct_captions_are_replayed(every_caption):
    assert sorted(every_caption.texts) == sorted(TEXTS[:-2])
    only = replay_captions([RelativeCaption("img_0.jpg", "img_1.jpg", t) for t in ("is taupe", "is shinier")])
    assert [m.text for m in only] == ["is shinier"]


def test_deterministic_for_a_seed_with_and_without_row_generators(tiny, caption_file):
    targets, shown = random_pairs(len(tiny), 200, seed=1)

    def answers(seed: int, rows: bool) -> list[str]:
        user = registry.make_user("human-replay", tiny, seed=seed, captions=caption_file)
        rngs = [make_rng(seed, "row", b) for b in range(len(targets))] if rows else None
        return user.describe(targets, shown, rngs=rngs)

    for rows in (False, True):
        assert answers(3, rows) == answers(3, rows)
        assert answers(3, rows) != answers(4, rows)
    user = registry.make_user("human-replay", tiny, seed=3, captions=caption_file)
    first = user.describe(targets, shown)
    user.reset(3)
    assert user.describe(targets, shown) == first
    # a row's answer depends only on its own generator
    rngs = [make_rng(0, "row", b) for b in range(len(targets))]
    alone = user.describe(targets[5:6], shown[5:6], rngs=[make_rng(0, "row", 5)])
    assert user.describe(targets, shown, rngs=rngs)[5] == alone[0]


def test_never_answers_a_false_caption_by_the_scalar_check(tiny, every_caption):
    targets, shown = random_pairs(len(tiny), 400, seed=2)
    said = every_caption.describe(targets, shown, rngs=[make_rng(0, "audit", b) for b in range(len(targets))])
    replayed = set(every_caption.texts)
    checked = 0
    for text, t, s in zip(said, targets.tolist(), shown.tolist(), strict=True):
        if t == s:
            assert text == SAME_ITEM_PHRASE
        elif text in replayed:
            assert scalar_truth(text, tiny.params, t, s) == (True, True), (text, t, s)
            checked += 1
    assert checked >= 100  # the check is not vacuous


def test_falls_back_to_the_grammar_and_counts_it(tiny):
    targets, shown = random_pairs(len(tiny), 50, seed=4)
    targets[0] = shown[0]
    nobody = HumanReplayUser(tiny.params, [], seed=0)
    grammar = registry.make_user("grammar", tiny, seed=0)
    rngs = [make_rng(0, "row", b) for b in range(len(targets))]
    said = nobody.describe(targets, shown, rngs=rngs)
    assert said == grammar.describe(targets, shown, rngs=[make_rng(0, "row", b) for b in range(len(targets))])
    different = int((targets != shown).sum())
    assert said[0] == SAME_ITEM_PHRASE and nobody.answers == nobody.fallbacks == different > 40
    assert nobody.fallback_rate == 1
    # "is green instead of orange" fits only pairs of a green target and an orange shown shoe
    narrow = HumanReplayUser(tiny.params, replay_captions([RelativeCaption("a.jpg", "b.jpg",
                                                                           "is green instead of orange")]))
    said = narrow.describe(targets, shown)
    fits = [scalar_truth("is green instead of orange", tiny.params, t, s)[1]
            for t, s in zip(targets.tolist(), shown.tolist(), strict=True)]
    assert narrow.fallbacks == narrow.answers - sum(fits) and sum(fits) < len(targets)
    assert [text == "is green instead of orange" for text in said] == fits


def test_registry_raises_the_readers_error_without_a_file(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv(HUMAN_CAPTIONS_ENV, str(tmp_path / "missing.json"))
    for name in registry.HUMAN_USER_NAMES:
        with pytest.raises(FileNotFoundError, match="fashion-retrieval"):
            registry.make_user(name, tiny)
    assert not set(registry.HUMAN_USER_NAMES) & set(registry.USER_NAMES)


def test_registry_builds_both_parts(tiny, caption_file):
    train = registry.make_user("human-replay", tiny, captions=caption_file)
    heldout = registry.make_user("human-replay-heldout", tiny, captions=caption_file)
    assert train.texts and heldout.texts
    assert registry.user_fingerprint(train).startswith("human-replay:")
    assert registry.user_fingerprint(heldout).startswith("human-replay-heldout:")


def test_the_scalar_check_reads_strong_comparatives_with_twice_the_gap(params, pairs):
    targets, references = pairs
    _, _, doubled = claim_matrices(params, targets, references)
    for b in range(0, len(targets), 3):
        for j, claim in enumerate(CLAIMS):
            assert doubled[b, j] == claim_holds(claim, params, int(targets[b]), int(references[b]), strong=True)


def test_the_replay_corpus_answers_each_pair_as_the_replay_user_may(tiny, caption_file):
    matches = replay_captions(read_relative_captions(caption_file).unique(), "train")
    split = tiny.split_ids("train")
    corpus = replay_corpus(tiny.params, split, matches, n_relative=300, seed=3, attributes=tiny.attributes)
    again = replay_corpus(tiny.params, split, matches, n_relative=300, seed=3, attributes=tiny.attributes)
    assert len(corpus) == 300 and corpus.captions == again.captions
    np.testing.assert_array_equal(corpus.target_ids, again.target_ids)
    assert set(corpus.target_ids) | set(corpus.reference_ids) <= set(split.tolist())
    assert len(set(corpus.captions)) > 3
    for text, t, r in zip(corpus.captions, corpus.target_ids.tolist(), corpus.reference_ids.tolist(), strict=True):
        assert scalar_truth(text, tiny.params, t, r)[1], (text, t, r)  # true and states a difference
    with pytest.raises(ValueError, match="no usable captions"):
        replay_corpus(tiny.params, split, [], n_relative=5)


def test_the_human_taught_captioner_keys_on_the_caption_file(tiny, caption_file, tmp_path):
    corpus, files = load_human_corpus(tiny, HumanCorpusConfig.tiny(), caption_file)
    assert set(files) == {"relative"} and corpus.meta["n_single"] == 0  # no single-image file beside it
    cache = ArtifactCache(tmp_path / "cache")
    user = registry.make_user("captioner-human", tiny, captions=caption_file, cache=cache, progress=False)
    plain = registry.make_user("captioner", tiny, cache=cache, progress=False)
    assert user.path != plain.path
    assert user.meta["human_files_sha256"] == files
    assert len(user.describe(np.arange(4), np.arange(4, 8))) == 4
    with pytest.raises(ValueError, match="part must be"):
        HumanCorpusConfig(part="test")
