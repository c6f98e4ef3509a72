"""The dialog log of the web app: one JSON line per finished dialog, its user-study summary, and a replay user.

A finished dialog is appended as one line (`append_record`: O_APPEND, one write of one complete
line, under a lock), so several sessions and several server processes can share a log without
interleaving. `summarise` turns a log into the paper's user-study table (mean target rank
percentile per turn, 95% bootstrap intervals, number of dialogs, per mode and agent), and
`ReplayUser` answers with what people typed, so that the logged words become a test set for agents.

A record (`RECORD_VERSION` 1) holds: `dialog` (a random id), `mode` ("play" or "whittlesearch"),
`agent`, `user` ("person"), `catalog`, `split`, `n_items` (items in the split), `turns` (the dialog
length offered), `target` (catalog index), `shown` (catalog indices of every image shown, the
first image included), `sentences` (what the person said about `shown[k]`, k = 0..), `attributes`
(WhittleSearch mode: the relative-attribute buttons pressed each turn), `ranks` and
`rank_percentiles` of the target after each turn (index 0: the first image), `found` (the agent
showed the target), `seed` (the env's seed), `started` / `finished` / `turn_times` (UTC, ISO 8601)
and `turn_seconds` (the server's time to answer each turn).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.protocol import bootstrap_ci
from simulators.cache import data_home
from simulators.language.claims import SAME_ITEM_PHRASE
from simulators.seeding import make_rng
from simulators.users import User, check_pairs

try:  # advisory file locks between processes (POSIX); within one process the thread lock is enough
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

RECORD_VERSION = 1
REQUIRED_FIELDS = ("mode", "agent", "catalog", "n_items", "turns", "target", "shown", "sentences", "ranks", "found")
_APPEND_LOCK = threading.Lock()


def default_log_path() -> Path:
    """Where the web app logs dialogs unless told otherwise: `<data home>/play/dialogs.jsonl`."""
    return data_home() / "play" / "dialogs.jsonl"


def append_record(record: dict[str, Any], path: str | Path) -> Path:
    """Append `record` to the log at `path` as one JSON line: one write of the whole line to a file opened with
    O_APPEND, under a thread lock and (where the OS has one) an exclusive file lock, so concurrent writers never
    interleave. Folders are created; the file is created readable by its owner only."""
    path = Path(path)
    line = json.dumps(record, sort_keys=True, ensure_ascii=True, allow_nan=False) + "\n"  # ASCII: no raw newline
    data = line.encode("ascii")
    path.parent.mkdir(parents=True, exist_ok=True)
    with _APPEND_LOCK:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            written = os.write(fd, data)
            if written != len(data):
                raise OSError(f"short write to {path}: {written} of {len(data)} bytes (disk full?)")
            os.fsync(fd)
        finally:
            os.close(fd)  # closing releases the file lock
    return path


class LogFormatError(ValueError):
    """A line of a dialog log is not a dialog record."""


def check_record(record: Any) -> dict[str, Any]:
    """`record` if it is a well-formed dialog record, else LogFormatError naming what is wrong."""
    if not isinstance(record, dict):
        raise LogFormatError(f"a record is a JSON object, got {type(record).__name__}")
    missing = [k for k in REQUIRED_FIELDS if k not in record]
    if missing:
        raise LogFormatError(f"record lacks {missing}")
    shown, sentences, ranks = record["shown"], record["sentences"], record["ranks"]
    if not (isinstance(shown, list) and isinstance(sentences, list) and isinstance(ranks, list)):
        raise LogFormatError("shown, sentences and ranks must be lists")
    if not all(isinstance(s, str) for s in sentences):
        raise LogFormatError("sentences must be strings")
    ints = [record["target"], record["n_items"], record["turns"], *shown, *ranks]
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in ints):
        raise LogFormatError("target, n_items, turns, shown and ranks must be non-negative integers")
    if len(shown) != len(sentences) + 1 or len(ranks) != len(shown):
        raise LogFormatError(f"{len(sentences)} sentences need {len(sentences) + 1} images and ranks, got "
                             f"{len(shown)} and {len(ranks)}")
    if len(sentences) > record["turns"] or (len(sentences) < record["turns"] and not record["found"]):
        raise LogFormatError(f"{len(sentences)} turns in a dialog of {record['turns']} that did not find its target")
    if record["n_items"] < 2 or max(ranks) >= record["n_items"]:
        raise LogFormatError("ranks must lie in [0, n_items) with n_items >= 2")
    return record


def read_log(path: str | Path, strict: bool = True) -> tuple[list[dict[str, Any]], list[str]]:
    """(records, problems) of the log at `path`. Blank lines are skipped. With `strict`, the first malformed
    line raises LogFormatError naming its line number; otherwise each is described in `problems` and skipped."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no dialog log at {path}")
    records, problems = [], []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                records.append(check_record(json.loads(line)))
            except (json.JSONDecodeError, LogFormatError) as err:
                message = f"{path}:{number}: not a dialog record ({err})"
                if strict:
                    raise LogFormatError(message) from None
                problems.append(message)
    return records, problems


def turn_percentiles(record: dict[str, Any], turns: int | None = None) -> np.ndarray:
    """(turns + 1,) the target's rank percentile after each turn of a logged dialog; once the target has been
    shown it counts as rank 0 for the remaining turns (as in the evaluation protocol)."""
    turns = record["turns"] if turns is None else turns
    ranks = np.zeros(turns + 1, dtype=np.int64)
    logged = np.asarray(record["ranks"][: turns + 1], dtype=np.int64)
    ranks[: len(logged)] = logged
    if len(logged) < turns + 1 and not record["found"]:
        raise LogFormatError(f"dialog {record.get('dialog')} has {len(logged) - 1} turns, fewer than {turns}")
    return 1.0 - ranks / (record["n_items"] - 1)


@dataclass
class SummaryRow:
    """One line of the user-study table: the dialogs of one (mode, agent, catalog, length)."""

    mode: str
    agent: str
    catalog: str
    turns: int
    dialogs: int
    mean_rank_percentile: list[float]
    """Index t: after turn t (0: the first image)."""
    ci95: list[tuple[float, float]]
    found: float
    """Share of dialogs in which the agent showed the target."""


def summarise(records: Iterable[dict[str, Any]], bootstrap: int = 1000, seed: int = 0) -> list[SummaryRow]:
    """The user-study table of logged dialogs: one row per (mode, agent, catalog, dialog length)."""
    groups: dict[tuple[str, str, str, int], list[dict[str, Any]]] = {}
    for record in records:
        key = (str(record["mode"]), str(record["agent"]), str(record["catalog"]), int(record["turns"]))
        groups.setdefault(key, []).append(record)
    rows = []
    for (mode, agent, catalog, turns), group in sorted(groups.items()):
        percentiles = np.stack([turn_percentiles(r, turns) for r in group])  # (dialogs, turns + 1)
        ci = bootstrap_ci(percentiles, bootstrap, seed)
        rows.append(SummaryRow(mode, agent, catalog, turns, len(group), percentiles.mean(axis=0).tolist(),
                               [(float(lo), float(hi)) for lo, hi in ci],
                               float(np.mean([bool(r["found"]) for r in group]))))
    return rows


def format_summary(rows: Sequence[SummaryRow], n_items: dict[str, int] | None = None) -> str:
    """The table as text, one block per catalog and dialog length: mean rank percentile after each turn with its
    95% interval, per mode and agent. `n_items` (catalog -> items in its test split) is shown when given."""
    if not rows:
        return "(no dialogs)"
    width = max(len(r.agent) for r in rows) + 2
    lines = []
    for catalog, turns in sorted({(r.catalog, r.turns) for r in rows}):
        items = f", {n_items[catalog]:,} test items" if n_items and catalog in n_items else ""
        head = f"{'mode':<15}{'agent':<{width}}{'n':>4}" + "".join(
            f"{'t=' + str(t):>18}" for t in range(1, turns + 1)) + f"{'found':>7}"
        lines += ["", f"catalog {catalog}{items}, {turns}-turn dialogs: mean target rank percentile after each turn "
                  "[95% bootstrap interval]", head, "-" * len(head)]
        for r in (r for r in rows if (r.catalog, r.turns) == (catalog, turns)):
            cells = "".join(f"{100 * m:>6.1f} [{100 * lo:4.1f},{100 * hi:5.1f}]"
                            for m, (lo, hi) in zip(r.mean_rank_percentile[1:], r.ci95[1:], strict=True))
            lines.append(f"{r.mode:<15}{r.agent:<{width}}{r.dialogs:>4}{cells}{100 * r.found:>6.0f}%")
    return "\n".join(lines[1:])


class UnloggedPairError(ValueError):
    """The replay user was asked about a (target, shown image) pair nobody was ever asked about."""


class ReplayUser(User):
    """People's logged words as a user: for a (target, shown image) pair of the log, the sentence a person typed.

    Built from dialog records (`read_log`) of one catalog: the sentence a person typed at turn k of a
    dialog is the answer for (target, shown[k]). A pair said more than once (several people, or one
    person twice) answers one of its sentences at random (from `rngs[b]` when given, else the user's own
    generator). A pair that was never logged raises UnloggedPairError, naming it, so an agent that leaves
    the logged path is noticed rather than fed made-up words; as every user does, the target shown as
    itself answers SAME_ITEM_PHRASE.
    """

    def __init__(self, records: Iterable[dict[str, Any]], catalog: str, n_items: int | None = None, seed: int = 0,
                 modes: Sequence[str] | None = None):
        self.catalog = catalog
        self.sentences: dict[tuple[int, int], list[str]] = {}
        """(target, shown) catalog indices -> the sentences people typed about that pair."""
        for record in records:
            check_record(record)
            if record["catalog"] != catalog or (modes is not None and record["mode"] not in modes):
                continue
            for shown, sentence in zip(record["shown"], record["sentences"], strict=False):
                self.sentences.setdefault((record["target"], shown), []).append(sentence)
        if not self.sentences:
            raise ValueError(f"the log has no dialogs on catalog {catalog!r}"
                             + (f" in modes {list(modes)}" if modes is not None else ""))
        largest = max(max(pair) for pair in self.sentences)
        self.n_items = largest + 1 if n_items is None else int(n_items)
        if largest >= self.n_items:
            raise ValueError(f"the log names item {largest}, but catalog {catalog!r} has {self.n_items} items")
        self.reset(seed)

    @classmethod
    def from_log(cls, path: str | Path, catalog: Any, seed: int = 0, modes: Sequence[str] | None = None) -> ReplayUser:
        """A replay user of the dialogs logged at `path` on `catalog` (a Catalog, or a catalog name)."""
        records, _ = read_log(path)
        name = catalog if isinstance(catalog, str) else catalog.name
        return cls(records, name, None if isinstance(catalog, str) else len(catalog), seed, modes)

    def reset(self, seed: int) -> None:
        self.rng = make_rng(seed, "users", "replay")

    def is_logged(self, target_id: int, candidate_id: int) -> bool:
        """Whether a person said something about this (target, shown image) pair."""
        return (int(target_id), int(candidate_id)) in self.sentences

    def describe(self, target_ids: np.ndarray, candidate_ids: np.ndarray,
                 rngs: Sequence[np.random.Generator] | None = None) -> list[str]:
        targets, candidates = check_pairs(target_ids, candidate_ids, rngs, self.n_items)
        out = []
        for row, (target, shown) in enumerate(zip(targets.tolist(), candidates.tolist(), strict=True)):
            if target == shown:
                out.append(SAME_ITEM_PHRASE)
                continue
            said = self.sentences.get((target, shown))
            if said is None:
                known = sorted(s for t, s in self.sentences if t == target)
                raise UnloggedPairError(
                    f"nobody was asked about target {target} with image {shown} on catalog {self.catalog!r}: "
                    + (f"for that target the log has images {known[:20]}" if known else
                       "the log has no dialog with that target"))
            rng = self.rng if rngs is None else rngs[row]
            out.append(said[0] if len(said) == 1 else said[int(rng.integers(len(said)))])
        return out
