"""Load test of the play page on the loopback address: N people playing five-turn dialogs at once, then stop.

    python -m benchmarks.play.load                        # full catalog, 20 concurrent sessions, no think time
    python -m benchmarks.play.load --think 2              # each "person" thinks 1-3 s before every turn
    python -m benchmarks.play.load --catalog tiny --sessions 4

Starts `python -m benchmarks.play` in a child process on a free loopback port, with a log of its
own (the user-study log is never touched), and runs `--sessions` clients in threads, all starting
together. Each client does what the page does: starts a Play dialog (agents taken in turn from those
the server offers), loads the target and first images, then for every turn sends the sentence the
caption grammar would say about (target, image on show), and loads the next image. Checks: no
request fails; every answer belongs to its own dialog (turn numbers, and the final result's target,
images and sentences are the ones this client was given and sent); the log holds one line per
dialog with the same contents. Reports the median, 95th percentile and maximum latency of a turn
(the POST, as the client waits for it), of starting a dialog, of an image, and the server's own time
per turn (from the log: the agent and the env, without queueing), and writes them to
results/play_load.json.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from simulators.extras import missing_extra

try:
    import httpx
except ImportError as err:
    raise missing_extra("httpx", "play", "the play page's load test (python -m benchmarks.play.load)") from err

from benchmarks.cli import command_parser, setup
from benchmarks.machine import cpu_model
from benchmarks.play.log import read_log
from simulators.cache import write_json
from simulators.seeding import make_rng
from simulators.users import GrammarUser

URL_LINE = re.compile(r"open (http://\S+)/ in a browser")


def start_server(catalog: str, sessions: int, log: Path, runs: str) -> tuple[subprocess.Popen, str]:
    """`python -m benchmarks.play` in a child process on a free loopback port; (process, its URL)."""
    command = [sys.executable, "-u", "-m", "benchmarks.play", "--catalog", catalog, "--port", "0", "--log", str(log),
               "--runs", runs, "--max-sessions", str(max(2 * sessions, 32))]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    for line in process.stdout:
        print(f"  server: {line.rstrip()}")
        match = URL_LINE.search(line)
        if match:
            threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()  # keep draining
            return process, match.group(1)
    process.wait()
    raise RuntimeError(f"the server exited ({process.returncode}) before printing its URL")


def client(number: int, url: str, agent: str, catalog: Any, think: float, barrier: threading.Barrier,
           out: dict[str, Any]) -> None:
    """One person: a whole dialog, checking every answer against what this client was told and said."""
    grammar = GrammarUser(catalog.params, seed=number)
    rng = make_rng(number, "play-load", "think")
    nodelay = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
    timings: dict[str, list[float]] = {"turn": [], "start": [], "image": []}
    out.update(timings=timings, errors=[], agent=agent)

    def timed(kind: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        t0 = time.perf_counter()
        response = http.request(method, path, **kwargs)
        timings[kind].append(time.perf_counter() - t0)
        if response.status_code != 200:
            raise AssertionError(f"{method} {path} answered {response.status_code}: {response.text[:200]}")
        return response

    with httpx.Client(base_url=url, timeout=60, transport=httpx.HTTPTransport(socket_options=nodelay)) as http:
        try:
            barrier.wait()
            started = timed("start", "POST", "/api/sessions", json={"mode": "play", "agent": agent}).json()
            target, shown, sentences = started["target"], [started["image"]], []
            for item in (target, started["image"]):
                timed("image", "GET", f"/api/images/{item}.png")
            for turn in range(started["turns"]):
                if think > 0:
                    time.sleep(think * rng.uniform(0.5, 1.5))
                sentence = grammar.describe(np.array([target]), np.array([shown[-1]]))[0]
                sentences.append(" ".join(sentence.split()))
                answer = timed("turn", "POST", f"/api/sessions/{started['session']}/turns",
                               json={"feedback": sentence}).json()
                if answer["turn"] != turn + 1:
                    raise AssertionError(f"turn {turn + 1} was answered as turn {answer['turn']}")
                shown.append(answer["image"])
                timed("image", "GET", f"/api/images/{answer['image']}.png")
                if answer["done"]:
                    result = answer["result"]
                    break
            else:
                raise AssertionError("the dialog did not end")
            mine = {"target": target, "shown": shown, "sentences": sentences, "agent": agent}
            theirs = {k: result[k] for k in mine}
            if theirs != mine:
                raise AssertionError(f"mixed-up dialog: sent and shown {mine}, the result says {theirs}")
            out["result"] = result
        except Exception as err:  # noqa: BLE001 - every failure is reported, none stops the other clients
            out["errors"].append(f"client {number}: {type(err).__name__}: {err}")


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ms = 1000 * np.asarray(values)
    return {"count": len(values), "median_ms": round(float(np.median(ms)), 1),
            "p95_ms": round(float(np.percentile(ms, 95)), 1), "max_ms": round(float(ms.max()), 1)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = command_parser(__doc__, device=False, progress=False)
    parser.add_argument("--sessions", type=int, default=20, help="concurrent dialogs")
    parser.add_argument("--think", type=float, default=0.0,
                        help="mean seconds a client waits before each turn (uniform in [0.5, 1.5] x this)")
    parser.add_argument("--runs", default="runs", help="where the server looks for trained dialog managers")
    parser.add_argument("--out", default="results/play_load.json")
    args = parser.parse_args(argv)
    if not 1 <= args.sessions <= 200:
        parser.error("--sessions must be in 1..200")
    catalog = setup(args).catalog
    with tempfile.TemporaryDirectory(prefix="play-load-") as tmp:
        log = Path(tmp) / "dialogs.jsonl"
        process, url = start_server(args.catalog, args.sessions, log, args.runs)
        try:
            agents = [a["name"] for a in httpx.get(url + "/api/options", timeout=30).json()["agents"]]
            barrier = threading.Barrier(args.sessions)
            outs: list[dict[str, Any]] = [{} for _ in range(args.sessions)]
            threads = [threading.Thread(target=client, args=(k, url, agents[k % len(agents)], catalog, args.think,
                                                             barrier, outs[k])) for k in range(args.sessions)]
            t0 = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            seconds = time.perf_counter() - t0
        finally:
            process.terminate()
            process.wait(timeout=30)
        errors = [e for out in outs for e in out.get("errors", [])]
        records = {r["dialog"]: r for r in read_log(log)[0]} if log.exists() else {}
        for k, out in enumerate(outs):
            result = out.get("result")
            if result is None:
                continue
            logged = records.get(result["dialog"])
            if logged is None or any(logged[key] != result[key] for key in ("target", "shown", "sentences", "ranks")):
                errors.append(f"client {k}: its dialog is not in the log as it was played")
        if len(records) != sum("result" in out for out in outs):
            errors.append(f"{len(records)} dialogs logged for {sum('result' in out for out in outs)} finished")
    timings = {kind: percentiles([t for out in outs for t in out.get("timings", {}).get(kind, [])])
               for kind in ("turn", "start", "image")}
    timings["server"] = percentiles([t for r in records.values() for t in r.get("turn_seconds", [])])
    report = {"catalog": catalog.name, "catalog_items": len(catalog), "sessions": args.sessions, "think_s": args.think,
              "agents": agents, "seconds": round(seconds, 2), "dialogs_finished": sum("result" in o for o in outs),
              "errors": errors, "latency": timings, "machine": {"cpu": cpu_model(), "cores": os.cpu_count()},
              "command": "python -m benchmarks.play.load " + " ".join(argv if argv is not None else sys.argv[1:])}
    print(f"\n{args.sessions} concurrent five-turn dialogs on {catalog.name} ({len(catalog)} items), think time "
          f"{args.think:g} s, {seconds:.1f} s in all, {report['dialogs_finished']} finished, {len(errors)} errors")
    for kind, stats in timings.items():
        if stats:
            print(f"  {kind:<6} n={stats['count']:<4} median {stats['median_ms']:7.1f} ms   "
                  f"p95 {stats['p95_ms']:7.1f} ms   max {stats['max_ms']:7.1f} ms")
    for error in errors[:20]:
        print(f"  ERROR {error}")
    write_json(report, args.out)
    print(f"wrote {args.out}")
    if errors:
        raise SystemExit(1)
    return report


if __name__ == "__main__":
    main()
