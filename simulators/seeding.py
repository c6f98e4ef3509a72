"""The one seeding path: every random stream in the project derives from (seed, stream name).

Streams are independent of each other and of the order in which they are asked for, so
adding a new consumer never changes the numbers an existing one draws.
"""

from __future__ import annotations

import hashlib

import numpy as np


def stream_key(name: str) -> int:
    """A stable 32-bit integer for a stream name (Python's hash() is salted per process)."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:4], "little")


def make_rng(seed: int, *streams: str | int) -> np.random.Generator:
    """A generator for the named sub-stream of `seed`: make_rng(0, "catalog", "params")."""
    if seed is None or int(seed) < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    keys = [stream_key(s) if isinstance(s, str) else int(s) for s in streams]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), *keys])))


def seed_from(rng: np.random.Generator) -> int:
    """Draw a fresh 63-bit seed from an existing generator (for handing to a child component)."""
    return int(rng.integers(0, 2**63 - 1))
