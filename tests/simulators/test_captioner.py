"""The relative captioner on the tiny catalog with a tiny model: training, decoding, checkpoints, the user's cache."""

from __future__ import annotations

import copy
import dataclasses
import shutil

import numpy as np
import pytest
import torch

from simulators.cache import ArtifactCache, CorruptArtifactError
from simulators.captioner import (
    CaptionerConfig,
    CaptionerUser,
    CaptionerUserConfig,
    CheckpointMismatchError,
    RelativeCaptioner,
    TrainConfig,
    load_captioner,
    read_checkpoint,
    train_captioner,
)
from simulators.captioner.checkpoint import WEIGHTS
from simulators.corpora import CorpusConfig, load_corpus
from simulators.language.claims import SAME_ITEM_PHRASE
from simulators.language.vocab import BOS_ID, EOS_ID, PAD_ID, UNK_ID, Vocabulary
from simulators.registry import load_vocabulary

TINY_TRAIN = TrainConfig.tiny()
TINY_CORPUS = CorpusConfig.tiny()


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """Tiny models run fastest on one thread, and a busy machine cannot stall its barrier."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def captioner(tiny_captioner) -> CaptionerUser:
    return tiny_captioner


@pytest.fixture(scope="module")
def vocabulary(tiny_catalog, session_cache) -> Vocabulary:
    return load_vocabulary(tiny_catalog, session_cache)


def random_model(vocab_size: int = 40, seed: int = 0, **overrides) -> RelativeCaptioner:
    torch.manual_seed(seed)
    return RelativeCaptioner(CaptionerConfig(vocab_size=vocab_size, channels=8, locations=4, embed_dim=16,
                                             hidden_dim=24, attention_dim=12, **overrides)).eval()


def test_training_lowers_the_loss(captioner):
    history = captioner.meta["history"]
    assert history["best_val_nll"] < history["initial_val_nll"] - 1.0


def test_a_few_steps_lower_the_training_loss(tiny_catalog, session_cache, vocabulary):
    corpus = load_corpus(tiny_catalog, TINY_CORPUS, session_cache)
    config = dataclasses.replace(TINY_TRAIN, max_epochs=2, patience=5)
    _, history = train_captioner(tiny_catalog, corpus, vocabulary, config, progress=False, cache=session_cache)
    first, last = history["epochs"][0]["train_nll"], history["epochs"][-1]["train_nll"]
    assert last < first
    assert history["best_val_nll"] < history["initial_val_nll"]


def test_greedy_shapes_and_token_layout():
    model = random_model()
    t, r = torch.randn(5, 4, 8), torch.randn(5, 4, 8)
    ids = model.greedy(t, r)
    assert ids.shape == (5, model.config.max_len) and ids.dtype == torch.long
    for row in ids.tolist():
        assert EOS_ID in row and BOS_ID not in row
        end = row.index(EOS_ID)
        assert PAD_ID not in row[:end] and set(row[end + 1:]) <= {PAD_ID}
    assert model.greedy(t[:0], r[:0]).shape == (0, model.config.max_len)


@pytest.mark.parametrize("variant", [{}, {"global_dim": 8}, {"fusion": "concat-difference", "global_dim": 8},
                                     {"global_dim": 8, "colour_dim": 27}, {"global_dim": 8, "colour_dim": 27,
                                                                           "colour_output": False}])
def test_greedy_matches_teacher_forced_argmax(variant):
    """The fast decoder (cached fused weights, shrinking batch) computes what forward() computes."""
    model = random_model(seed=3, **variant)
    t, r = torch.randn(6, 4, 8), torch.randn(6, 4, 8)
    colours = (torch.rand(6, 27), torch.rand(6, 27)) if model.config.colour_dim else None
    ids = model.greedy(t, r, colours=colours)
    inputs = torch.cat([torch.full((6, 1), BOS_ID), ids[:, :-1]], dim=1)
    with torch.no_grad():
        logits, _ = model(t, r, inputs, colours)
    logits[..., PAD_ID] = logits[..., BOS_ID] = float("-inf")
    best = logits.argmax(-1)
    for row in range(6):
        end = ids[row].tolist().index(EOS_ID)
        if end < model.config.max_len - 1:  # the last position is forced to <eos>
            assert torch.equal(best[row, : end + 1], ids[row, : end + 1])


def test_beam_of_one_is_greedy_and_beams_are_deterministic():
    model = random_model(seed=1)
    t, r = torch.randn(7, 4, 8), torch.randn(7, 4, 8)
    assert torch.equal(model.beam_search(t, r, beam_size=1), model.greedy(t, r))
    assert torch.equal(model.beam_search(t, r, beam_size=3), model.beam_search(t, r, beam_size=3))
    assert model.beam_search(t[:0], r[:0], beam_size=3).shape == (0, model.config.max_len)


@pytest.mark.parametrize("length_penalty", [0.0, 1.0])
def test_a_rows_beam_does_not_depend_on_the_rest_of_the_batch(length_penalty):
    """Beams that end leave the batch: each row still gets the caption it gets alone."""
    model = random_model(seed=4, global_dim=8, colour_dim=27)
    t, r = torch.randn(9, 4, 8), torch.randn(9, 4, 8)
    colours = (torch.rand(9, 27), torch.rand(9, 27))
    batch = model.beam_search(t, r, beam_size=4, length_penalty=length_penalty, colours=colours)
    for row in range(9):
        alone = model.beam_search(t[row : row + 1], r[row : row + 1], beam_size=4, length_penalty=length_penalty,
                                  colours=(colours[0][row : row + 1], colours[1][row : row + 1]))
        assert torch.equal(alone[0], batch[row])


@pytest.mark.parametrize("fusion", ["concat", "difference", "concat-difference"])
def test_fusions_decode(fusion):
    model = random_model(fusion=fusion)
    assert model.greedy(torch.randn(2, 4, 8), torch.randn(2, 4, 8)).shape == (2, model.config.max_len)


def test_colour_histograms_are_read_and_required():
    with pytest.raises(ValueError, match="global_dim"):
        CaptionerConfig(vocab_size=40, channels=8, locations=4, colour_dim=27, global_dim=0)
    model = random_model(seed=2, global_dim=8, colour_dim=27)
    t, r = torch.randn(6, 4, 8), torch.randn(6, 4, 8)
    colours = (torch.rand(6, 27), torch.rand(6, 27))
    with pytest.raises(ValueError, match="colours"):
        model.greedy(t, r)
    with pytest.raises(ValueError, match="no colour histograms"):
        random_model(global_dim=8).greedy(t, r, colours=colours)
    ids = model.greedy(t, r, colours=colours)
    assert torch.equal(model.beam_search(t, r, beam_size=1, colours=colours), ids)
    inputs = torch.cat([torch.full((6, 1), BOS_ID), ids[:, :-1]], dim=1)
    with torch.no_grad():
        same, _ = model(t, r, inputs, colours)
        other, _ = model(t, r, inputs, (colours[1], colours[0]))  # swapped histograms: other words are likely
    assert not torch.allclose(same, other)


def test_the_trained_user_reads_the_catalogs_colour_histograms(captioner, tiny_catalog):
    bins = TINY_TRAIN.colour_bins
    assert captioner.model.config.colour_dim == bins**3
    assert captioner.images.colours.shape == (len(tiny_catalog), bins**3)


def test_training_is_deterministic_under_a_seed(tiny_catalog, session_cache, vocabulary):
    corpus = load_corpus(tiny_catalog, TINY_CORPUS, session_cache)
    a, _ = train_captioner(tiny_catalog, corpus, vocabulary, TINY_TRAIN, progress=False, max_steps=3,
                           cache=session_cache)
    b, _ = train_captioner(tiny_catalog, corpus, vocabulary, TINY_TRAIN, progress=False, max_steps=3,
                           cache=session_cache)
    c, _ = train_captioner(tiny_catalog, corpus, vocabulary, dataclasses.replace(TINY_TRAIN, seed=1),
                           progress=False, max_steps=3, cache=session_cache)
    state_b, state_c = b.state_dict(), c.state_dict()
    assert all(torch.equal(v, state_b[k]) for k, v in a.state_dict().items())
    assert not torch.equal(a.state_dict()["out_words.weight"], state_c["out_words.weight"])


def test_decoding_is_deterministic_and_sampling_follows_each_rows_generator(captioner, tiny_catalog, session_cache):
    t, c = tiny_catalog.test_ids[:6], tiny_catalog.test_ids[::-1][:6]
    greedy = captioner.caption(t, c)
    assert greedy == captioner.caption(t, c)
    sampler = CaptionerUser(captioner.model, captioner.vocabulary, tiny_catalog, CaptionerUserConfig(decoding="sample"),
                            cache=session_cache)
    rngs = lambda: [np.random.default_rng(100 + i) for i in range(6)]  # noqa: E731
    first = sampler.describe(t, c, rngs=rngs())
    assert first == sampler.describe(t, c, rngs=rngs())
    # Row 2 alone, with its own generator, says the same as in the batch.
    assert sampler.describe(t[2:3], c[2:3], rngs=[np.random.default_rng(102)]) == first[2:3]
    sampler.reset(7)
    a = sampler.describe(t, c)
    sampler.reset(7)
    assert sampler.describe(t, c) == a


def test_with_config_shares_the_model_and_images_but_not_the_cache(captioner):
    t, c = np.array([1, 2]), np.array([3, 4])
    captioner.describe(t, c)
    beam = captioner.with_config(CaptionerUserConfig(decoding="beam", beam_size=2))
    assert beam.model is captioner.model and beam.images is captioner.images
    assert beam.cache_info()["size"] == 0 and beam.decoded_pairs == 0
    ids = captioner.images.pair(t, c)
    expected = captioner.vocabulary.decode_batch(
        captioner.model.beam_search(ids[0], ids[1], beam_size=2, colours=ids[2]).numpy())
    assert beam.caption(t, c) == expected
    assert captioner.config.decoding == "greedy"


def test_lru_cache_answers_repeats_without_decoding(tiny_catalog, captioner, session_cache):
    user = CaptionerUser(captioner.model, captioner.vocabulary, tiny_catalog, CaptionerUserConfig(cache_size=3),
                         cache=session_cache)
    t, c = np.array([1, 2, 1, 5]), np.array([3, 4, 3, 5])
    first = user.describe(t, c)
    assert first[3] == SAME_ITEM_PHRASE and first[0] == first[2]
    assert user.decoded_pairs == 2  # (1, 3) once, (2, 4); the same-item row needs no model
    assert user.describe(t, c) == first
    assert user.decoded_pairs == 2
    assert first[:2] == user.caption(t[:2], c[:2])
    user.describe(np.array([6, 7, 8]), np.array([9, 10, 11]))
    assert user.cache_info()["size"] == 3  # bounded: the oldest pairs were dropped
    before = user.decoded_pairs
    user.describe(np.array([1]), np.array([3]))
    assert user.decoded_pairs == before + 1


def test_bad_ids_are_refused(captioner, tiny_catalog):
    with pytest.raises(ValueError, match="catalog indices"):
        captioner.describe(np.array([len(tiny_catalog)]), np.array([0]))


def test_checkpoint_for_another_catalog_or_vocabulary_is_refused(captioner, tiny_catalog, vocabulary):
    other_catalog = dataclasses.replace(tiny_catalog, name="synthshoes-elsewhere")
    with pytest.raises(CheckpointMismatchError, match="catalog"):
        read_checkpoint(captioner.path, other_catalog, vocabulary)
    other_vocabulary = Vocabulary([*vocabulary.words, "not-a-shopper-word"])
    with pytest.raises(CheckpointMismatchError, match="vocabulary"):
        read_checkpoint(captioner.path, tiny_catalog, other_vocabulary)
    model, meta = read_checkpoint(captioner.path, tiny_catalog, vocabulary)
    assert meta["vocabulary_sha256"] == vocabulary.content_hash


def test_corrupted_checkpoint_is_refused(captioner, tiny_catalog, session_cache, tmp_path):
    root = tmp_path / "home"
    shutil.copytree(session_cache.root, root)
    copy = root / captioner.path.relative_to(session_cache.root)
    weights = copy / WEIGHTS
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(CorruptArtifactError, match="sha256"):
        load_captioner(tiny_catalog, load_vocabulary(tiny_catalog, session_cache), TINY_TRAIN, corpus=TINY_CORPUS,
                       cache=ArtifactCache(root), progress=False)
    weights.write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(CorruptArtifactError, match="truncated"):
        read_checkpoint(copy, tiny_catalog, load_vocabulary(tiny_catalog, session_cache))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_decodes_like_cpu(captioner, tiny_catalog, session_cache):
    t, c = tiny_catalog.test_ids[:8], tiny_catalog.test_ids[::-1][:8]
    gpu = CaptionerUser(copy.deepcopy(captioner.model), captioner.vocabulary, tiny_catalog, device="cuda",
                        cache=session_cache)
    assert gpu.caption(t, c) == captioner.caption(t, c)


def test_nucleus_sampling_keeps_only_the_most_probable_words():
    model = random_model(seed=5)
    t, r = torch.randn(6, 4, 8), torch.randn(6, 4, 8)
    uniforms = torch.rand(6, model.config.max_len, generator=torch.Generator().manual_seed(0))
    other = torch.rand(6, model.config.max_len, generator=torch.Generator().manual_seed(1))
    top_word = model.greedy(t, r, uniforms=uniforms, top_p=1e-6)
    assert torch.equal(model.greedy(t, r, uniforms=other, top_p=1e-6), top_word)  # the nucleus is the top word
    assert not torch.equal(model.greedy(t, r, uniforms=other), model.greedy(t, r, uniforms=uniforms))
    assert not (model.greedy(t, r, uniforms=uniforms) == UNK_ID).any()  # a sampler never says <unk>
    full = model.greedy(t, r, uniforms=uniforms)
    assert torch.equal(model.greedy(t, r, uniforms=uniforms, top_p=1.0), full)
    nucleus = model.greedy(t, r, uniforms=uniforms, top_p=0.9)
    assert torch.equal(model.greedy(t, r, uniforms=uniforms, top_p=0.9), nucleus)
    with pytest.raises(ValueError, match="top_p"):
        CaptionerUserConfig(decoding="sample", top_p=0.0)


def test_the_sampled_captioner_user_shares_the_weights_and_says_so_in_its_fingerprint(captioner, tiny_catalog,
                                                                                        session_cache):
    from simulators.registry import make_user, user_fingerprint

    sampled = make_user("captioner-sampled", tiny_catalog, cache=session_cache, progress=False)
    greedy = make_user("captioner", tiny_catalog, cache=session_cache, progress=False)
    assert sampled.config.decoding == "sample" and sampled.config.top_p == 0.3
    assert user_fingerprint(sampled) != user_fingerprint(greedy)
    assert user_fingerprint(sampled).startswith(user_fingerprint(greedy) + ":sample")
    t, c = np.arange(8), (np.arange(8) + 1) % len(tiny_catalog.train_ids)
    first = sampled.describe(t, c, rngs=[np.random.default_rng(k) for k in range(8)])
    assert first == sampled.describe(t, c, rngs=[np.random.default_rng(k) for k in range(8)])
