"""Training on CPU and on CUDA from the same seed: one SL epoch and N policy-improvement iterations on each.

    python -m benchmarks.reports.device_training                      # full catalog, grammar user, cpu and cuda
    python -m benchmarks.reports.device_training --catalog tiny --devices cpu     # the code path, without a GPU

For each device, the same arguments and seed: `agents.triplet_sl` for one epoch, then
`agents.policy_improvement` for `--pi-iterations` batches from that checkpoint, each evaluated on
the 512-dialog test subset (rank percentile and cumulative Hits@10 at turns 1, 2, 3, 5). Prints each
device's training seconds, the time ratio to the first device, and the subset metrics side by side
(they agree up to floating-point tolerance: CUDA kernels do not add in CPU order). Writes JSON.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import torch

from agents.policy_improvement import PolicyImprovementArgs
from agents.triplet_sl import TripletSLArgs
from simulators import registry
from simulators.cache import write_json


def train_on(device: str, catalog: str, user: str, pi_iterations: int, seed: int, root: Path) -> dict[str, Any]:
    """One SL epoch and `pi_iterations` policy-improvement batches on `device`: seconds and subset metrics."""
    common = {"catalog": catalog, "user": user, "seed": seed, "device": device, "progress": False}
    sl_dir, pi_dir = root / f"sl-{device}", root / f"pi-{device}"
    TripletSLArgs(**common, epochs=1, run_dir=str(sl_dir)).train()
    PolicyImprovementArgs(**common, epochs=1, max_batches=pi_iterations, init=str(sl_dir / "checkpoint"),
                          run_dir=str(pi_dir)).train()
    out: dict[str, Any] = {}
    for name, run in (("sl", sl_dir), ("policy_improvement", pi_dir)):
        state = json.loads((run / "checkpoint" / "state.json").read_text(encoding="utf-8"))
        last = state["history"][-1]
        out[name] = {"train_seconds": state["train_seconds"],
                     "subset": {k.removeprefix("eval/"): v for k, v in last.items() if k.startswith("eval/")}}
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--catalog", default="full")
    parser.add_argument("--user", default="grammar", choices=registry.USER_NAMES)
    parser.add_argument("--devices", nargs="+", default=["cpu", "cuda"])
    parser.add_argument("--pi-iterations", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="results/device_training.json")
    args = parser.parse_args(argv)
    if any(d.startswith("cuda") for d in args.devices) and not torch.cuda.is_available():
        raise SystemExit("CUDA is not available here; run with --devices cpu to check the code path alone")
    report: dict[str, Any] = {"catalog": args.catalog, "user": args.user, "seed": args.seed,
                              "pi_iterations": args.pi_iterations, "torch": torch.__version__,
                              "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
                              "devices": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for device in args.devices:
            report["devices"][device] = train_on(device, args.catalog, args.user, args.pi_iterations, args.seed,
                                                 Path(tmp))
    first = report["devices"][args.devices[0]]
    print(f"{'device':<8}{'part':<20}{'seconds':>9}{'ratio':>7}  subset metrics")
    for device, parts in report["devices"].items():
        for part, values in parts.items():
            ratio = first[part]["train_seconds"] / max(values["train_seconds"], 1e-9)
            metrics = ", ".join(f"{k} {100 * v:.2f}" for k, v in sorted(values["subset"].items()))
            print(f"{device:<8}{part:<20}{values['train_seconds']:>9.1f}{ratio:>6.2f}x  {metrics}")
    write_json(report, args.out)
    return report


if __name__ == "__main__":
    main()
