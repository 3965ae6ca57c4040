"""Named random streams.

One integer seed per run; every actor asks for its own stream by name. A stream is a
``numpy.random.Generator`` built from ``SeedSequence(seed, spawn_key=<digest of the name>)``, so
the draws of one actor do not depend on which other actors exist or in which order they drew, and
two variants of a scenario run with the same seed share their random numbers (common random
numbers). The name digest is SHA-256, never Python's salted ``hash``.
"""

from __future__ import annotations

import hashlib

import numpy as np


def _name_key(name: str) -> tuple[int, ...]:
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))


class RandomStreams:
    """A family of independent generators keyed by name, derived from one root seed."""

    def __init__(self, seed: int) -> None:
        if seed < 0:
            raise ValueError("seed must be >= 0")
        self.seed = int(seed)
        self._streams: dict[str, np.random.Generator] = {}

    def __call__(self, name: str) -> np.random.Generator:
        """The generator called ``name`` (created on first use, then the same object)."""
        gen = self._streams.get(name)
        if gen is None:
            seq = np.random.SeedSequence(self.seed, spawn_key=_name_key(name))
            gen = np.random.Generator(np.random.PCG64(seq))
            self._streams[name] = gen
        return gen

    stream = __call__


def derive_seed(root: int, *labels: int | str) -> int:
    """A reproducible 63-bit seed for a sub-run (replication k of a root seed, say)."""
    h = hashlib.sha256(str(root).encode())
    for label in labels:
        h.update(b"/" + str(label).encode())
    return int.from_bytes(h.digest()[:8], "little") >> 1
