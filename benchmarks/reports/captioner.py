"""Quality and speed of the trained relative captioner on the test split's caption corpus.

    python -m benchmarks.reports.captioner                   # full catalog (trains the captioner on first use)
    python -m benchmarks.reports.captioner --catalog tiny    # smoke run
    python -m benchmarks.reports.captioner --beam 2 3 --length-penalty 0 0.75 1   # and six beam settings

For every (target, reference) pair of the test-split corpus the captioner writes a caption
(greedy; --beam adds beam search, at every beam size and length penalty given), and so does a
fresh grammar user (the human proxy, other random phrasings than the corpus's). Both are scored
against the corpus caption of the pair:

- BLEU-1..4: sacrebleu's corpus BLEU with max n-gram order n (the cumulative BLEU-n of the
  captioning literature: geometric mean of the 1..n-gram precisions times the brevity penalty;
  sacrebleu's default 13a tokenisation and exponential smoothing), one reference per pair.
- claims true: share of captions that state at least one claim and whose claims all hold for the
  pair (`claim_holds` on the parameters). A caption is read by the human-caption matcher
  (`simulators.language.matching`: a strong comparative, "much darker", needs twice the gap; "instead
  of orange" is a claim about the shown shoe) when it can read all of it, else by the grammar's phrase
  inventory. A caption neither finds a claim in counts as not true; that share is reported on its own.
- difference stated: share of pairs whose caption states at least one of the pair's real
  differences (a true, salient claim: `true_claims`).

Relative rows (human-style pairs) are the headline; the reused single-image rows are reported
beside them. `--human` also scores the human-taught captioner (the registry's captioner-human, trained on
first use) and adds a second table: test-split pairs answered by the held-out 20% of the human captions
(`simulators.replay.load_human_corpus`, part "heldout"), every system scored against those people's words
(BLEU-1 against held-out replayed human captions, the share of distinct captions), with the replay user of
the training 80% as the human-against-human reference. The paper's BLEU-1 on human captions is
printed for scale. Decode speed is the median over repeats of captions per second at batch 256 for
each decoding scored (cache bypassed). A handful of examples is printed and drawn (reference image,
target image, caption) into a PNG grid.
"""

from __future__ import annotations

import dataclasses
import itertools
import statistics
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from benchmarks.cli import command_parser, setup
from benchmarks.machine import machine_description
from simulators import registry
from simulators.build import captioner_config, captioner_parser
from simulators.cache import write_json
from simulators.captioner.user import SMALL_CATALOG, CaptionerUser, CaptionerUserConfig, load_captioner
from simulators.catalog.catalog import Catalog
from simulators.catalog.params import ShoeParams
from simulators.corpora import CorpusConfig, load_corpus
from simulators.language.claims import CLAIM_INDEX, claim_holds, claim_matrices, parse_claims
from simulators.language.corpus import RELATIVE, Corpus
from simulators.language.matching import match_captions
from simulators.replay import HumanCorpusConfig, HumanReplayUser, load_human_corpus
from simulators.seeding import make_rng
from simulators.users import GrammarUser

PAPER_BLEU1 = {"Show and Tell (paper, human data)": 26.3, "Show, Attend and Tell (paper, human data)": 29.6}
TARGET_CLAIMS_TRUE, TARGET_DIFFERENCE_STATED, TARGET_CAPTIONS_PER_S = 0.85, 0.90, 2000.0


def bleu_scores(hypotheses: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """Corpus BLEU-1..4 (sacrebleu, max n-gram order n) of hypotheses against one reference each."""
    from sacrebleu.metrics import BLEU

    return {f"bleu{n}": BLEU(max_ngram_order=n).corpus_score(list(hypotheses), [list(references)]).score
            for n in range(1, 5)}


def meaning_scores(params: ShoeParams, targets: np.ndarray, references: np.ndarray, captions: Sequence[str],
                   attributes: np.ndarray | None = None) -> dict[str, Any]:
    """Claims-true and difference-stated shares of captions for pairs, checked on the ground-truth parameters."""
    _, salient, _ = claim_matrices(params, targets, references, attributes)
    all_true = np.zeros(len(captions), dtype=bool)
    stated = np.zeros(len(captions), dtype=bool)
    no_claim = np.zeros(len(captions), dtype=bool)
    n_claims, n_false = 0, 0
    by_kind: dict[str, list[int]] = {}
    matches = {m.text: m for m in match_captions(dict.fromkeys(captions))}
    for row, text in enumerate(captions):
        match = matches[text]
        claims = list(match.claims) if match.usable else parse_claims(text)
        if not claims:
            no_claim[row] = True
            continue
        target, reference = int(targets[row]), int(references[row])
        holds = [claim_holds(c, params, target, reference, strong=c in match.strong) for c in claims]
        # "instead of orange" also says the shown shoe is orange.
        shown_ok = all(claim_holds(c, params, reference, reference) for c in match.reference_claims)
        n_claims += len(claims)
        n_false += len(claims) - sum(holds)
        for c, h in zip(claims, holds, strict=True):
            counts = by_kind.setdefault(c.kind, [0, 0])
            counts[0] += 1
            counts[1] += not h
        all_true[row] = all(holds) and shown_ok
        stated[row] = any(h and salient[row, CLAIM_INDEX[c]] for c, h in zip(claims, holds, strict=True))
    return {"claims_true": float(all_true.mean()), "difference_stated": float(stated.mean()),
            "no_claim": float(no_claim.mean()), "claims_per_caption": n_claims / max(1, len(captions)),
            "false_claim_rate": n_false / max(1, n_claims),
            "claims_by_kind": {k: {"stated": n, "false_share": f / n} for k, (n, f) in
                               sorted(by_kind.items(), key=lambda kv: -kv[1][0])}}


def text_stats(captions: Sequence[str]) -> dict[str, float]:
    words = [len(c.split()) for c in captions]
    return {"mean_words": float(np.mean(words)) if words else 0.0,
            "distinct_captions": len(set(captions)) / max(1, len(captions))}


def score(params: ShoeParams, corpus: Corpus, rows: np.ndarray, captions: Sequence[str],
          attributes: np.ndarray | None) -> dict[str, Any]:
    refs = [corpus.captions[i] for i in rows]
    return {"pairs": len(rows), **bleu_scores(captions, refs),
            **meaning_scores(params, corpus.target_ids[rows], corpus.reference_ids[rows], captions, attributes),
            **text_stats(captions)}


def heldout_scores(catalog: Catalog, user: CaptionerUser, human_user: CaptionerUser | None,
                   args: Any) -> dict[str, Any]:
    """Every system's captions for test pairs that the held-out human captions answer, scored against them."""
    params, attributes = catalog.params, catalog.attributes
    config = HumanCorpusConfig(split="test", part="heldout", seed=1, n_relative=args.heldout_pairs, n_single=0)
    corpus, files = load_human_corpus(catalog, config, args.captions)
    targets, refs = corpus.target_ids, corpus.reference_ids
    replay = HumanReplayUser.from_file(params, args.captions, "train", seed=1, attributes=attributes)
    sampler = user.with_config(registry.SAMPLED_CAPTIONER, seed=1)
    systems = {"captioner (greedy)": user.caption(targets, refs),
               f"captioner (sampled, top-p {registry.SAMPLED_CAPTIONER.top_p:g})": sampler.describe(targets, refs)}
    if human_user is not None:
        systems["captioner-human (greedy)"] = human_user.caption(targets, refs)
    systems["grammar user"] = GrammarUser(params, seed=1).describe(targets, refs)
    systems["human-replay (the training 80%)"] = replay.describe(targets, refs)
    rows = np.arange(len(corpus))
    return {"pairs": len(corpus), "captions": len(set(corpus.captions)), "files_sha256": files,
            "replay_fallback_rate": replay.fallback_rate,
            "systems": {name: score(params, corpus, rows, captions, attributes) for name, captions in systems.items()}}


def decode_speed(user: CaptionerUser, catalog: Catalog, batch: int = 256, repeats: int = 15) -> dict[str, float]:
    """Captions per second of `user`'s decoding for random test pairs at `batch`, cache bypassed (median of repeats)."""
    rng = make_rng(0, "benchmarks", "captioner-speed")
    ids = catalog.test_ids
    times = []
    for r in range(repeats + 1):
        t, c = rng.choice(ids, batch), rng.choice(ids, batch)
        start = time.perf_counter()
        user.caption(t, c)
        if r:  # the first call warms up
            times.append(time.perf_counter() - start)
    return {"batch": batch, "repeats": repeats, "captions_per_s": batch / statistics.median(times),
            "median_ms": 1e3 * statistics.median(times)}


def example_grid(catalog: Catalog, targets: Sequence[int], references: Sequence[int], captions: Sequence[str],
                 truths: Sequence[str], size: int = 128, columns: int = 2) -> Image.Image:
    """Panels of (shown image, target image) with the captioner's caption and the corpus's under each."""
    font, small = ImageFont.load_default(size=13), ImageFont.load_default(size=11)
    pad, line = 8, 16
    panel_w = 2 * size + 3 * pad
    width = max(20, panel_w // 7)  # characters per line at these font sizes

    def lines(prefix: str, text: str) -> list[str]:
        return textwrap.wrap(f"{prefix}: {text}", width) or [prefix]

    texts = [(lines("captioner", c), lines("corpus", t)) for c, t in zip(captions, truths, strict=True)]
    text_h = max(len(a) + len(b) for a, b in texts) * line + pad
    panel_h = size + text_h + 2 * pad + 14
    rows = -(-len(targets) // columns)
    sheet = Image.new("RGB", (columns * panel_w, rows * panel_h), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    images_t, images_r = catalog.render(np.asarray(targets), size), catalog.render(np.asarray(references), size)
    for k in range(len(targets)):
        x0, y0 = (k % columns) * panel_w, (k // columns) * panel_h
        sheet.paste(Image.fromarray(images_r[k]), (x0 + pad, y0 + pad + 14))
        sheet.paste(Image.fromarray(images_t[k]), (x0 + 2 * pad + size, y0 + pad + 14))
        draw.text((x0 + pad, y0 + 4), f"shown #{references[k]}", fill=(90, 90, 90), font=small)
        draw.text((x0 + 2 * pad + size, y0 + 4), f"target #{targets[k]}", fill=(90, 90, 90), font=small)
        y = y0 + 2 * pad + 14 + size
        for text, colour, f in [*((t, (10, 10, 120), font) for t in texts[k][0]),
                                *((t, (90, 90, 90), small) for t in texts[k][1])]:
            draw.text((x0 + pad, y), text, fill=colour, font=f)
            y += line
        draw.rectangle([x0, y0, x0 + panel_w - 1, y0 + panel_h - 1], outline=(220, 220, 220))
    return sheet


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = command_parser(__doc__, progress=False, threads=True)
    parser.add_argument("--beam", type=int, nargs="*", default=[],
                        help="also score beam search with these beam sizes")
    parser.add_argument("--length-penalty", type=float, nargs="+", default=[0.0],
                        help="beam scores divided by length ** this; several values score several beams")
    parser.add_argument("--sample", action="store_true",
                        help="also score the sampled captioner (the registry's captioner-sampled), and count how "
                             "often two of its draws for one pair differ")
    parser.add_argument("--top-p", type=float, nargs="+", default=[registry.SAMPLED_CAPTIONER.top_p],
                        help="with --sample: the nucleus (several values score several samplers); default %(default)s")
    parser.add_argument("--human", action="store_true",
                        help="also score the human-taught captioner (captioner-human), and every system against "
                             "held-out human captions replayed on test pairs (needs the human caption files)")
    parser.add_argument("--captions", default=None,
                        help="with --human: the human relative-caption file or its folder (default: "
                             "$SHOE_RETRIEVAL_HUMAN_CAPTIONS, else the shared data folder)")
    parser.add_argument("--heldout-pairs", type=int, default=4000,
                        help="with --human: test pairs answered by the held-out human captions")
    parser.add_argument("--examples", type=int, default=8, help="example pairs printed and drawn (0: none)")
    parser.add_argument("--png", default="docs/captioner_examples.png",
                        help="where the examples are drawn ('': nowhere)")
    parser.add_argument("--out", default="results/captioner_report.json")
    parser.add_argument("--repeats", type=int, default=15, help="timed repeats of the decode-speed measurement")
    captioner_parser(parser)  # report on a captioner trained with other settings (trained on first use)
    args = parser.parse_args(argv)

    run = setup(args)
    catalog, device = run.catalog, run.device
    t0 = time.perf_counter()
    user = load_captioner(catalog, registry.load_vocabulary(catalog), captioner_config(args, len(catalog)),
                          device=device)
    load_s = time.perf_counter() - t0
    corpus = load_corpus(catalog, CorpusConfig(split="test"))
    params, attributes = catalog.params, catalog.attributes
    assert params is not None
    subsets = {"relative": np.flatnonzero(corpus.kind == RELATIVE), "single": np.flatnonzero(corpus.kind != RELATIVE)}
    targets, refs = corpus.target_ids, corpus.reference_ids

    systems: dict[str, list[str]] = {}
    decoders = {"captioner (greedy)": user}
    for size, penalty in itertools.product(args.beam, args.length_penalty):
        name = f"beam {size}" + (f", length penalty {penalty:g}" if penalty else "")
        decoders[f"captioner ({name})"] = user.with_config(
            CaptionerUserConfig(decoding="beam", beam_size=size, length_penalty=penalty))
    t0 = time.perf_counter()
    systems["captioner (greedy)"] = user.caption(targets, refs)
    greedy_s = time.perf_counter() - t0
    for name, decoder in list(decoders.items())[1:]:
        systems[name] = decoder.caption(targets, refs)
    draws_differ: dict[str, float] = {}
    for top_p in args.top_p if args.sample else []:
        sampler = user.with_config(dataclasses.replace(registry.SAMPLED_CAPTIONER, top_p=top_p))
        sampler.reset(0)
        first, second = sampler.describe(targets, refs), sampler.describe(targets, refs)
        systems[f"captioner (sampled, top-p {top_p:g})"] = first
        draws_differ[f"top-p {top_p:g}"] = float(np.mean([a != b for a, b in zip(first, second, strict=True)]))
    human_user = None
    if args.human:
        human = registry.HUMAN_CORPUS if len(catalog) >= SMALL_CATALOG else HumanCorpusConfig.tiny()
        human_user = load_captioner(catalog, registry.load_vocabulary(catalog), captioner_config(args, len(catalog)),
                                    human=human, captions=args.captions, device=device)
        decoders["captioner-human (greedy)"] = human_user
        systems["captioner-human (greedy)"] = human_user.caption(targets, refs)
    systems["grammar user"] = GrammarUser(params, seed=1).describe(targets, refs)

    results: dict[str, Any] = {}
    for name, captions in systems.items():
        results[name] = {sub: score(params, corpus, rows, [captions[i] for i in rows], attributes)
                         for sub, rows in subsets.items() if len(rows)}

    heldout: dict[str, Any] = {}
    if args.human:
        heldout = heldout_scores(catalog, user, human_user, args)

    speeds = {name: decode_speed(decoder, catalog, repeats=args.repeats) for name, decoder in decoders.items()}
    speed = speeds["captioner (greedy)"]
    history = user.meta.get("history", {})
    report = {"catalog": catalog.name, "device": device, "torch_threads": torch.get_num_threads(),
              "machine": machine_description(device), "checkpoint": str(user.path),
              "training": history, "load_or_train_seconds": round(load_s, 1),
              "test_decode_seconds": round(greedy_s, 1), "decode_speed": speed,
              "decode_speed_by_system": speeds, "results": results, "heldout_human": heldout,
              "sampled_draws_differ": draws_differ,
              "paper_bleu1": PAPER_BLEU1,
              "targets": {"claims_true": TARGET_CLAIMS_TRUE, "difference_stated": TARGET_DIFFERENCE_STATED,
                          "captions_per_s": TARGET_CAPTIONS_PER_S}}

    head = (f"{'system':<38} {'rows':<8} {'pairs':>6} {'BLEU-1':>7} {'BLEU-2':>7} {'BLEU-3':>7} {'BLEU-4':>7} "
            f"{'claims true':>11} {'diff stated':>11} {'no claim':>8} {'words':>6} {'distinct':>8}")
    trained_on = user.meta.get("corpus", {})
    print(f"captioner {user.path}\ntrained in {history.get('train_seconds')} s "
          f"(best epoch {history.get('best_epoch')}, {history.get('torch_threads')} torch threads) on the "
          f"train split's corpus of {trained_on.get('n_relative')} relative pairs and {trained_on.get('n_single')} "
          f"single-image captions; scored on the test split's corpus\n")
    print(head)
    print("-" * len(head))
    for name, by_subset in results.items():
        for sub, r in by_subset.items():
            print(f"{name:<38} {sub:<8} {r['pairs']:>6} {r['bleu1']:>7.1f} {r['bleu2']:>7.1f} {r['bleu3']:>7.1f} "
                  f"{r['bleu4']:>7.1f} {100 * r['claims_true']:>10.1f}% {100 * r['difference_stated']:>10.1f}% "
                  f"{100 * r['no_claim']:>7.1f}% {r['mean_words']:>6.1f} {100 * r['distinct_captions']:>7.1f}%")
    for name, b1 in PAPER_BLEU1.items():
        print(f"{name:<47} {b1:>7.1f}")
    if heldout:
        print(f"\nagainst held-out human captions, replayed on {heldout['pairs']} test pairs "
              f"({heldout['captions']} distinct held-out captions; one reference per pair):")
        print(head)
        print("-" * len(head))
        for name, r in heldout["systems"].items():
            print(f"{name:<38} {'human':<8} {r['pairs']:>6} {r['bleu1']:>7.1f} {r['bleu2']:>7.1f} {r['bleu3']:>7.1f} "
                  f"{r['bleu4']:>7.1f} {100 * r['claims_true']:>10.1f}% {100 * r['difference_stated']:>10.1f}% "
                  f"{100 * r['no_claim']:>7.1f}% {r['mean_words']:>6.1f} {100 * r['distinct_captions']:>7.1f}%")
    kinds = results["captioner (greedy)"].get("relative", {}).get("claims_by_kind", {})
    print("\ncaptioner (greedy) claims on relative rows, by kind (stated, false share): " + ", ".join(
        f"{k} {v['stated']} {100 * v['false_share']:.0f}%" for k, v in list(kinds.items())[:12]))
    print(f"\ntargets: claims true >= {TARGET_CLAIMS_TRUE:.0%}, difference stated >= {TARGET_DIFFERENCE_STATED:.0%} "
          f"(relative rows)")
    for name, share in draws_differ.items():
        print(f"captioner (sampled, {name}): two draws for one test pair differ in {100 * share:.1f}% of pairs")
    for name, sp in speeds.items():
        print(f"{name} decode: {sp['captions_per_s']:.0f} captions/s at batch {sp['batch']} (median of "
              f"{sp['repeats']}, {torch.get_num_threads()} torch threads; target >= {TARGET_CAPTIONS_PER_S:.0f})")

    rows = subsets["relative"] if len(subsets["relative"]) else np.arange(len(corpus))
    pick = make_rng(0, "benchmarks", "captioner-examples").choice(rows, min(args.examples, len(rows)), replace=False)
    generated = systems["captioner (greedy)"]
    print("\nexamples (shown -> target):")
    for i in pick:
        print(f"  #{refs[i]:>5} -> #{targets[i]:>5}  captioner: {generated[i]!r:<45} corpus: {corpus.captions[i]!r}")
    report["examples"] = [{"target": int(targets[i]), "reference": int(refs[i]), "captioner": generated[i],
                           "corpus": corpus.captions[i]} for i in pick]
    if args.png and len(pick):
        png = Path(args.png)
        png.parent.mkdir(parents=True, exist_ok=True)
        example_grid(catalog, targets[pick].tolist(), refs[pick].tolist(), [generated[i] for i in pick],
                     [corpus.captions[i] for i in pick]).save(png, optimize=True)
        print(f"wrote {png}")
    print(f"wrote {write_json(report, args.out)}")
    return report


if __name__ == "__main__":
    main()
