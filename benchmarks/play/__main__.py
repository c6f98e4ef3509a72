"""python -m benchmarks.play: serve the page, summarise a log, replay a log, or take the page's screenshot.

    python -m benchmarks.play                          # full catalog, http://127.0.0.1:8000/
    python -m benchmarks.play --catalog tiny --port 0  # the 64-item catalog, any free port
    python -m benchmarks.play --summary LOG            # the user-study table of a dialog log
    python -m benchmarks.play --replay LOG             # every agent against people's logged words
    python -m benchmarks.play --screenshot docs/play.png --agent policy_improvement-captioner
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmarks.cli import command_parser
from benchmarks.play.game import Game, PlayConfig, available_agents, replay_dialogs
from benchmarks.play.log import default_log_path, format_summary, read_log, summarise
from simulators import registry
from simulators.cache import write_json
from simulators.cli import add_config_arguments, config_from_args
from simulators.extras import missing_extra


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = command_parser(__doc__, device=False, progress=False, prog="python -m benchmarks.play")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: loopback only; anything else lets the network play)")
    parser.add_argument("--port", type=int, default=8000, help="port (0: any free port)")
    parser.add_argument("--runs", default="runs", help="folder searched for runs/<method>-<user>-s0/checkpoint")
    parser.add_argument("--log", default=None, help=f"dialog log (default: {default_log_path()})")
    parser.add_argument("--device", default="cpu", help="where the dialog managers run")
    add_config_arguments(parser, PlayConfig)
    parser.add_argument("--summary", metavar="LOG", help="print the user-study table of a dialog log and exit")
    parser.add_argument("--replay", metavar="LOG", help="run agents against the people's words of a log and exit")
    parser.add_argument("--agent", action="append", help="with --replay or --screenshot: the agent(s) to use")
    parser.add_argument("--out", help="with --summary or --replay: also write the table as JSON here")
    parser.add_argument("--screenshot", metavar="PNG", help="play one dialog in headless Chromium, typing the "
                        "grammar user's sentences, and save the page at its end as PNG")
    return parser.parse_args(argv)


def load_game(args: argparse.Namespace) -> tuple[Game, list[str]]:
    """The game the command line asks for: catalog, vocabulary, agents (with notes on checkpoints skipped)."""
    try:
        config = config_from_args(args, PlayConfig())
    except ValueError as err:
        raise SystemExit(f"bad setting: {err}") from None
    catalog = registry.load_catalog(args.catalog, device="cpu")
    vocabulary = registry.load_vocabulary(catalog)
    agents, notes = available_agents(catalog, vocabulary, args.runs, args.device)
    return Game(catalog, vocabulary, agents, config, args.log), notes


def read_or_exit(path: str) -> list[dict[str, Any]]:
    try:
        records, problems = read_log(path, strict=False)
    except (FileNotFoundError, UnicodeDecodeError) as err:
        raise SystemExit(f"cannot read the dialog log: {err}") from None
    for problem in problems:
        print(f"skipped {problem}", file=sys.stderr)
    return records


def show_summary(path: str, out: str | None) -> list[Any]:
    records = read_or_exit(path)
    rows = summarise(records)
    print(f"{len(records)} dialogs in {path}")
    print(format_summary(rows, {r["catalog"]: r["n_items"] for r in records}))
    print("paper (people, 50 five-turn dialogs each): WhittleSearch 70.3%, dialog manager 89.9% after five turns")
    if out:
        write_json([asdict(r) for r in rows], out)
    return rows


def replay(args: argparse.Namespace) -> list[Any]:
    game, _ = load_game(args)
    records = [r for r in read_or_exit(args.replay) if r["catalog"] == game.catalog.name]
    if not records:
        raise SystemExit(f"{args.replay} has no dialogs on catalog {game.catalog.name!r} (--catalog)")
    names = args.agent or list(game.agents)
    unknown = sorted(set(names) - set(game.agents))
    if unknown:
        raise SystemExit(f"unknown agent(s) {unknown}; available: {sorted(game.agents)}")
    results = [replay_dialogs(game.agents[name], records, game.catalog, game.vocabulary) for name in names]
    turns = len(results[0].mean_rank_percentile) - 1
    print(f"{len(records)} logged dialogs replayed with the people's words: mean target rank percentile after each "
          "turn (dialogs still on the logged path)")
    print(f"{'agent':<36}" + "".join(f"{'t=' + str(t):>15}" for t in range(1, turns + 1)) + "  reproduced")
    for r in results:
        cells = "".join(f"{100 * m:>8.1f}% ({n:>3})" for m, n in zip(r.mean_rank_percentile[1:], r.reached[1:],
                                                                        strict=True))
        print(f"{r.agent:<36}{cells}  {r.reproduced:>4}")
    if args.out:
        write_json([asdict(r) for r in results], args.out)
    return results


def serve(args: argparse.Namespace) -> None:
    try:
        import uvicorn
    except ImportError as err:
        raise missing_extra("uvicorn", "play", "the play page (python -m benchmarks.play)") from err

    from benchmarks.play.app import create_app, listening_socket

    loopback = args.host == "localhost" or _is_loopback(args.host)
    game, notes = load_game(args)
    for note in notes:
        print(note if len(note) < 200 else note[:197] + "...")
    game.images.png(int(game.catalog.split_ids("test")[0]))  # the renderer's first call builds its textures
    print(f"catalog {game.catalog.name} ({game.n_items} test items); agents: {', '.join(game.agents)}")
    print(f"dialogs are logged to {game.log_path}")
    if not loopback:
        print(f"WARNING: listening on {args.host}: anyone who can reach this machine can play, and what they type "
              "is logged")
    app = create_app(game)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    try:
        sock = listening_socket("127.0.0.1" if args.host == "localhost" else args.host, args.port)
    except OSError as err:
        raise SystemExit(f"cannot listen on {args.host}:{args.port}: {err}") from None
    host, port = sock.getsockname()[:2]
    shown_host = f"[{host}]" if ":" in host else host
    print(f"open http://{shown_host}:{port}/ in a browser (Ctrl+C stops)", flush=True)
    server.run(sockets=[sock])


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def screenshot(args: argparse.Namespace) -> Path:
    from benchmarks.play.app import BackgroundServer, create_app
    from benchmarks.play.browser import grammar_sentences, headless_chromium, play_dialog

    game, _ = load_game(args)
    agent = (args.agent or [None])[0]
    if agent is None or agent not in game.agents:
        raise SystemExit(f"--screenshot needs --agent, one of {sorted(game.agents)}")
    sentences = grammar_sentences(game.catalog)
    with BackgroundServer(create_app(game)) as server, headless_chromium() as driver:
        result = play_dialog(driver, server.url, "play", agent, sentences)
        path = Path(args.screenshot)
        path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):  # the window's frame takes some height: size it so the viewport holds the whole page
            page, viewport = driver.execute_script(
                "return [document.documentElement.scrollHeight, window.innerHeight]")
            driver.set_window_size(1000, driver.get_window_size()["height"] + int(page) - int(viewport))
        driver.save_screenshot(str(path))
    print(json.dumps(result))
    print(f"wrote {path}")
    return path


def main(argv: list[str] | None = None) -> Any:
    args = parse_args(argv)
    if args.summary:
        return show_summary(args.summary, args.out)
    if args.replay:
        return replay(args)
    if args.screenshot:
        return screenshot(args)
    return serve(args)


if __name__ == "__main__":
    main()
