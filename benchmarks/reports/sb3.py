"""Stable-Baselines3 on ShoeRetrieval-v0: the adapter's training throughput, and SB3 routes trained and evaluated.

    python -m benchmarks.reports.sb3 throughput        # PPO steps/s: SB3VecEnv(256) against DummyVecEnv(256)
    python -m benchmarks.reports.sb3 train --users grammar --timesteps 1400000 --baseline   # the recipe, 30 min
    python -m benchmarks.reports.sb3 train --users grammar --timesteps 400000 --routes ppo-default ppo-full \
        ppo-basis ppo-basis-absolute sac-basis recurrent-ppo-basis recurrent-ppo-basis-absolute   # the routes

`throughput` times PPO's `learn` (the same recipe, actions in the full 256-d space so both paths take
the same actions) through `agents.sb3_vec_env.SB3VecEnv` at 256 dialogs and through SB3's own
`DummyVecEnv` over 256 `ShoeRetrievalEnv`, with the grammar and the captioner users, alternating the
two paths within each repeat (the machines are shared and noisy), the captioner's caption cache
cleared before each timing; medians of the repeats, and the ratio. `train` trains each route with
each user through `agents.sb3.train_sb3` (runs in `runs/sb3-<route>-<user>-<steps>k-s<seed>/`, each
with its curve and TensorBoard log), evaluates it on the protocol with the same user and writes one
results file per agent and user (`results/runs/sb3/`), the table `results/sb3.md`, and the curves
`results/sb3_curves.png`.

Routes (`agents.sb3.SB3Recipe` settings): `ppo-default` is SB3's default extractor in the full space
(the floor); `ppo-full` reads the words (`FeedbackExtractor`) but acts in the full space;
`ppo-basis` reads the words and acts in a 32-component PCA basis around the shown image;
`ppo-basis-absolute` the same basis around the split's mean; `sac-basis` and
`recurrent-ppo-basis` the same observation and action with SAC and RecurrentPPO (an LSTM over the
turns); `recurrent-ppo-basis-absolute` RecurrentPPO with the basis around the split's mean (the
documented recipe, `agents.sb3.SB3Recipe()`).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv

from agents.baselines import NearestNeighbourAgent
from agents.dialog_manager import feature_scale_of
from agents.sb3 import SB3Recipe, split_free, train_sb3
from agents.sb3_vec_env import SB3VecEnv
from benchmarks.cli import command_parser, setup
from benchmarks.machine import machine_description
from benchmarks.plots import save_figure
from benchmarks.protocol import ProtocolConfig, evaluate
from benchmarks.results import AgentInfo, make_result, result_path, write_result
from envs.shoe_retrieval import ShoeRetrievalEnv
from simulators import registry
from simulators.cache import content_hash, write_json, write_text

ROUTES: dict[str, SB3Recipe] = {
    "ppo-default": SB3Recipe(algorithm="PPO", extractor=False, basis_k=0, residual=True, log_std_init=0.0),
    "ppo-full": SB3Recipe(algorithm="PPO", basis_k=0, residual=True),
    "ppo-basis": SB3Recipe(algorithm="PPO", residual=True),
    "ppo-basis-absolute": SB3Recipe(algorithm="PPO"),
    "sac-basis": SB3Recipe(algorithm="SAC", residual=True, batch_size=1024, n_epochs=2, learning_rate=1e-3),
    "recurrent-ppo-basis": SB3Recipe(algorithm="RecurrentPPO", residual=True),
    "recurrent-ppo-basis-absolute": SB3Recipe(),
}
"""The routes an SB3 user would reasonably take; `recurrent-ppo-basis-absolute` is the documented recipe
(`SB3Recipe()`)."""


def bench_throughput(catalog: Any, vocabulary: Any, user_name: str, device: str, num_envs: int, repeats: int,
                     rollouts: int) -> dict[str, Any]:
    """PPO training steps per second through SB3VecEnv and through DummyVecEnv (median of `repeats`)."""
    user = registry.make_user(user_name, catalog, device=device, vocabulary=vocabulary)
    recipe = SB3Recipe(algorithm="PPO", basis_k=0, num_envs=num_envs)
    scale = feature_scale_of(catalog.features[catalog.split_ids("train")])
    kw = dict(catalog=catalog, split="train", user=user, vocabulary=vocabulary, max_turns=recipe.max_turns,
              device=device)
    fast = SB3VecEnv(num_envs=num_envs, **kw)
    slow = DummyVecEnv([lambda: split_free(ShoeRetrievalEnv(action_type="query", **kw)) for _ in range(num_envs)])
    steps = rollouts * recipe.n_steps * num_envs
    timings: dict[str, list[float]] = {"adapter": [], "dummy": []}
    for repeat in range(repeats + 1):  # the first round warms up
        for name, venv in (("adapter", fast), ("dummy", slow)):
            if hasattr(user, "clear_cache"):  # the captioner's caption cache: each timing starts cold, or the
                user.clear_cache()  # second path would replay the first one's dialogs (same seeds) from it
            venv.seed(repeat)
            model: PPO = recipe.make(venv, scale, seed=repeat, device=device)
            t0 = time.perf_counter()
            model.learn(total_timesteps=steps)
            if repeat:
                timings[name].append(steps / (time.perf_counter() - t0))
    adapter, dummy = float(np.median(timings["adapter"])), float(np.median(timings["dummy"]))
    return {"user": user_name, "num_envs": num_envs, "steps_per_repeat": steps, "repeats": repeats,
            "adapter_steps_per_s": round(adapter, 1), "dummy_steps_per_s": round(dummy, 1),
            "ratio": round(adapter / dummy, 2), "adapter_all": timings["adapter"], "dummy_all": timings["dummy"]}


def _row(route: str, user_name: str, evaluation: Any, timesteps: int, minutes: float,
         curve: list[dict[str, Any]]) -> dict[str, Any]:
    pct, hits = evaluation.mean_rank_percentile, evaluation.hits["@10"]
    return {"route": route, "user": user_name, "timesteps": timesteps, "train_minutes": round(minutes, 2),
            "episodes": evaluation.episodes, "pct": [round(100 * pct[t], 2) for t in (1, 2, 5)],
            "ci95_t5": [round(100 * v, 2) for v in evaluation.ci95[5]],
            "hits10": [round(100 * hits[t], 1) for t in (1, 2, 5)], "curve": curve}


def nearest_neighbour_rows(run: Any, vocabulary: Any, users: list[str], seed: int) -> list[dict[str, Any]]:
    """The nearest-neighbour baseline on the protocol with each user (the floor the routes must clear)."""
    rows = []
    for user_name in users:
        user = registry.make_user(user_name, run.catalog, device=run.device, vocabulary=vocabulary)
        evaluation = evaluate(NearestNeighbourAgent(), run.catalog, user, ProtocolConfig(seed=seed),
                              agent_name="nearest neighbour", user_name=user_name, device=run.device,
                              vocabulary=vocabulary, progress=run.progress)
        rows.append(_row("nearest-neighbour (no training)", user_name, evaluation, 0, 0.0, []))
    return rows


def train_routes(run: Any, vocabulary: Any, routes: list[str], users: list[str], timesteps: int, seed: int,
                 runs: Path, out: Path) -> list[dict[str, Any]]:
    rows = []
    for route in routes:
        recipe = ROUTES[route]
        for user_name in users:
            user = registry.make_user(user_name, run.catalog, device=run.device, vocabulary=vocabulary)
            run_dir = runs / f"sb3-{route}-{user_name}-{timesteps // 1000}k-s{seed}"
            print(f"-- {route} with {user_name}: {timesteps:,} steps -> {run_dir}", flush=True)
            agent, minutes = train_sb3(run.catalog, user, vocabulary, run_dir, timesteps, recipe=recipe, seed=seed,
                                       device=run.device, progress=run.progress)
            name = f"{recipe.label}, {timesteps / 1e6:g}M steps (trained: {user_name})"
            evaluation = evaluate(agent, run.catalog, user, ProtocolConfig(seed=seed), agent_name=name,
                                  user_name=user_name, device=run.device, vocabulary=vocabulary,
                                  progress=run.progress)
            info = AgentInfo(name=name, feedback="natural language", method=f"sb3-{route}", train_user=user_name,
                             checkpoint_sha256=content_hash(run_dir / "checkpoint"), train_minutes=round(minutes, 2))
            write_result(make_result(evaluation, run.catalog, info, user, user_name, device=run.device),
                         result_path(out / "runs" / "sb3", name, user_name))
            curve = json.loads((run_dir / "curve.json").read_text(encoding="utf-8"))["points"]
            row = _row(route, user_name, evaluation, timesteps, minutes, curve)
            print(f"   turn 1/2/5: {row['pct']}  Hits@10 {row['hits10']}  ({minutes:.1f} min)", flush=True)
            rows.append(row)
    return rows


def format_tables(throughput: list[dict[str, Any]], rows: list[dict[str, Any]], machine: str) -> str:
    lines = [f"# Stable-Baselines3 on ShoeRetrieval-v0\n\nMachine: {machine}.\n"]
    if throughput:
        lines += ["## PPO training throughput: SB3VecEnv against DummyVecEnv\n",
                  "| user | dialogs | SB3VecEnv steps/s | DummyVecEnv steps/s | ratio |",
                  "|---|---|---|---|---|"]
        lines += [f"| {t['user']} | {t['num_envs']} | {t['adapter_steps_per_s']:,.0f} | "
                  f"{t['dummy_steps_per_s']:,.0f} | {t['ratio']:.1f}x |" for t in throughput]
        lines.append("")
    if rows:
        lines += [f"## Routes, trained from scratch, evaluated on the protocol ({rows[0]['episodes']:,} test dialogs, "
                  "10 turns, greedy)\n",
                  "| route | user | steps | minutes | pct t=1 / 2 / 5 | 95% CI t=5 | Hits@10 t=1 / 2 / 5 |",
                  "|---|---|---|---|---|---|---|"]
        lines += [f"| {r['route']} | {r['user']} | {r['timesteps']:,} | {r['train_minutes']:.1f} | "
                  f"{' / '.join(f'{v:.2f}' for v in r['pct'])} | [{r['ci95_t5'][0]:.2f}, {r['ci95_t5'][1]:.2f}] | "
                  f"{' / '.join(f'{v:.1f}' for v in r['hits10'])} |" for r in rows]
        lines.append("")
    return "\n".join(lines)


def plot_curves(rows: list[dict[str, Any]], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for r in rows:
        points = [p for p in r["curve"] if "pct_t5" in p]
        if len(points) > 1 and points[-1]["steps"] - points[-2]["steps"] < 50_000:
            points = points[:-1]  # a run's last few steps: too few dialogs for a point
        if not points:
            continue
        ax.plot([p["minutes"] for p in points], [p["pct_t5"] for p in points],
                label=f"{r['route']} ({r['user']}, {r['timesteps'] / 1e6:g}M steps)")
    ax.axhline(50, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("training minutes")
    ax.set_ylabel("training dialogs: rank percentile at turn 5 (%)")
    ax.set_title("SB3 routes on ShoeRetrieval-v0 (stochastic policy, train split)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return save_figure(fig, path)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = command_parser(__doc__, threads=True)
    parser.add_argument("what", choices=("throughput", "train"))
    parser.add_argument("--users", nargs="+", default=["grammar", "captioner"])
    parser.add_argument("--num-envs", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rollouts", type=int, default=2, help="PPO rollouts per timing (throughput)")
    parser.add_argument("--routes", nargs="+", choices=sorted(ROUTES), default=["recurrent-ppo-basis-absolute"])
    parser.add_argument("--timesteps", type=int, default=6_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--baseline", action="store_true", help="also evaluate the nearest-neighbour baseline")
    parser.add_argument("--runs", default="runs")
    parser.add_argument("--out", default="results")
    args = parser.parse_args(argv)
    run = setup(args)
    vocabulary = registry.load_vocabulary(run.catalog)
    out = Path(args.out)
    machine = machine_description(run.device)
    report_json = out / "sb3.json"
    previous = json.loads(report_json.read_text(encoding="utf-8")) if report_json.exists() else {}
    throughput, rows = previous.get("throughput", []), previous.get("routes", [])
    if args.what == "throughput":
        measured = [bench_throughput(run.catalog, vocabulary, u, run.device, args.num_envs, args.repeats,
                                     args.rollouts) for u in args.users]
        throughput = [t for t in throughput if t["user"] not in args.users] + measured
        for t in measured:
            print(f"{t['user']}: SB3VecEnv {t['adapter_steps_per_s']:,.0f} steps/s, DummyVecEnv "
                  f"{t['dummy_steps_per_s']:,.0f} steps/s: {t['ratio']:.1f}x", flush=True)
    else:
        new = nearest_neighbour_rows(run, vocabulary, args.users, args.seed) if args.baseline else []
        new += train_routes(run, vocabulary, args.routes, args.users, args.timesteps, args.seed, Path(args.runs), out)
        keys = {(r["route"], r["user"], r["timesteps"]) for r in new}
        rows = [r for r in rows if (r["route"], r["user"], r["timesteps"]) not in keys] + new
        plot_curves(rows, out / "sb3_curves.png")
    report = {"machine": machine, "throughput": throughput, "routes": rows}
    write_json(report, report_json)
    write_text(format_tables(throughput, rows, machine), out / "sb3.md")
    print(f"wrote {out / 'sb3.md'}")
    return report


if __name__ == "__main__":
    main()
