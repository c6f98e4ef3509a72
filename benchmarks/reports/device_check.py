"""CPU-versus-CUDA agreement and CUDA timings, for a machine with a GPU.

    python -m benchmarks.reports.device_check [--out results/device_check.json]

1. The tiny catalog built on CPU and on CUDA: retrieval features agree up to float tolerance.
2. The native vector env on CPU and on CUDA over the same catalog and seeds, driven by the
   feedback-blind agent: identical shown images, feedback and ranks.
3. The full SynthShoes catalog built on CUDA: build time.
Prints a short report and writes JSON. Needs CUDA; exits with an error without it.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from agents.baselines import NearestNeighbourAgent
from envs.shoe_retrieval import ShoeRetrievalVectorEnv
from simulators import registry
from simulators.cache import ArtifactCache, write_json
from simulators.catalog.catalog import CatalogConfig, load_synthshoes


def env_trajectory(catalog, vocabulary, device: str, num_envs: int, steps: int) -> dict[str, np.ndarray]:
    env = ShoeRetrievalVectorEnv(num_envs=num_envs, catalog=catalog, vocabulary=vocabulary, action_type="query",
                                 max_turns=5, device=device)
    agent = NearestNeighbourAgent()
    obs, info = env.reset(seed=7)
    shown, ranks, texts = [obs["candidate"]], [info["rank"]], [list(info["feedback_text"])]
    for _ in range(steps):
        obs, _, _, _, info = env.step(agent.predict(obs)[0])
        shown.append(obs["candidate"])
        ranks.append(info["rank"])
        texts.append(list(info["feedback_text"]))
    return {"shown": np.stack(shown), "rank": np.stack(ranks), "text": np.array(texts)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="results/device_check.json")
    parser.add_argument("--skip-full", action="store_true", help="skip the full-catalog build")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        raise SystemExit("device_check needs CUDA; none is available here")
    report: dict = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__}
    with tempfile.TemporaryDirectory() as tmp:
        cpu_cat = load_synthshoes(CatalogConfig.tiny(), cache=ArtifactCache(Path(tmp) / "cpu"), device="cpu",
                                  progress=False)
        gpu_cat = load_synthshoes(CatalogConfig.tiny(), cache=ArtifactCache(Path(tmp) / "cuda"), device="cuda",
                                  progress=False)
        diff = np.abs(cpu_cat.features - gpu_cat.features).max() / np.abs(cpu_cat.features).max()
        report["tiny_features_max_rel_diff"] = float(diff)
        vocab = registry.load_vocabulary(cpu_cat, cache=ArtifactCache(Path(tmp) / "cpu"))
        a = env_trajectory(cpu_cat, vocab, "cpu", 16, 12)
        b = env_trajectory(cpu_cat, vocab, "cuda", 16, 12)
        report["vector_env_same_shown"] = bool((a["shown"] == b["shown"]).all())
        report["vector_env_same_rank"] = bool((a["rank"] == b["rank"]).all())
        report["vector_env_same_feedback"] = bool((a["text"] == b["text"]).all())
    print(json.dumps(report, indent=1))
    if not args.skip_full:
        t0 = time.perf_counter()
        full = load_synthshoes(CatalogConfig(), device="cuda", progress=False)
        report["full_catalog_build_seconds_cuda"] = round(time.perf_counter() - t0, 1)
        report["full_catalog"] = full.name
        print(f"full catalog built on CUDA in {report['full_catalog_build_seconds_cuda']} s")
    write_json(report, args.out)
    return report


if __name__ == "__main__":
    main()
