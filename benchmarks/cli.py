"""The preamble every benchmark command shares: its parser, and the catalog and device it runs on.

    parser = command_parser(__doc__)                 # --catalog, --device, --no-progress
    parser.add_argument("--out", default="results/<report>.json")
    args = parser.parse_args(argv)
    run = setup(args)                                # run.catalog, run.device, run.progress

A command's module docstring is its `--help`; `--catalog` takes a name of `simulators.registry.CATALOG_NAMES`
("full", the protocol's SynthShoes, or "tiny", 64 items for smoke runs), built into the data home on first use,
or the name (or JSON path) of a catalog built from a dataset's files (`simulators.datasets`).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

import torch

from envs.ranking import resolve_device
from simulators import registry
from simulators.catalog.catalog import Catalog


def command_parser(doc: str | None, *, device: bool = True, progress: bool = True, threads: bool = False,
                   prog: str | None = None) -> argparse.ArgumentParser:
    """A parser with the module docstring `doc` as its help and the shared flags: `--catalog`, and on request
    `--device`, `--no-progress` and `--threads`."""
    parser = argparse.ArgumentParser(prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--catalog", default="full",
                        help="the catalog: full (the protocol's), tiny (64 items, a smoke run), or the name or "
                             "JSON path of a catalog built from files (python -m simulators.build catalog "
                             "--format ...); default %(default)s")
    if device:
        parser.add_argument("--device", default="cpu", help="cpu, cuda or auto; default %(default)s")
    if threads:
        parser.add_argument("--threads", type=int, default=None,
                            help="torch CPU threads (default: torch's choice); 1 steadies timings on a crowded machine")
    if progress:
        parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser


@dataclass(frozen=True)
class Setup:
    """What a command runs on: the loaded catalog, the resolved device ("cpu", "cuda"...), progress bars or not."""

    catalog: Catalog
    device: str
    progress: bool


def setup(args: argparse.Namespace, **load: Any) -> Setup:
    """Apply `--threads`, resolve `--device` and load `--catalog` (extra keywords go to
    `simulators.registry.load_catalog`)."""
    threads = getattr(args, "threads", None)
    if threads:
        torch.set_num_threads(threads)
    device = str(resolve_device(getattr(args, "device", "cpu")))
    progress = not getattr(args, "no_progress", False)
    load.setdefault("progress", progress)
    return Setup(registry.load_catalog(args.catalog, device=device, **load), device, progress)
