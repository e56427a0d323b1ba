"""Reproducible random streams in fixed-size blocks.

Paths come in blocks of BLOCK_SIZE; the number of blocks depends only on the path count; block i
draws from SeedSequence(seed).spawn(n_blocks)[i]. A result therefore depends on the seed and the
path count, never on how many workers or threads ran the blocks.

Scrambled Sobol sampling has one stream per scramble, SeedSequence(seed).spawn(n_scrambles)[k],
which fixes that scramble's randomisation; its points are cut into blocks of SOBOL_BLOCK_SIZE
consecutive points of the sequence, each regenerated from the scramble's stream (so the blocks
too depend only on the seed, the path count and the number of scrambles).
"""

from __future__ import annotations

import secrets

import numpy as np

BLOCK_SIZE = 5_000
# Sobol blocks: a power of two (a block is then itself a balanced piece of the sequence).
SOBOL_BLOCK_SIZE = 4_096


def draw_seed() -> int:
    """A fresh seed for a run that did not give one (reported, so the run can be repeated):
    53 bits, so that it is exact in every JSON client (JavaScript reads numbers as doubles)."""
    return secrets.randbits(53)


def block_sizes(n_paths: int, block_size: int = BLOCK_SIZE) -> list[int]:
    """Sizes of the blocks that make up ``n_paths`` paths (all full but possibly the last)."""
    full, rest = divmod(n_paths, block_size)
    return [block_size] * full + ([rest] if rest else [])


def block_streams(seed: int, n_paths: int, block_size: int = BLOCK_SIZE):
    """The SeedSequence of each block, in block order: SeedSequence(seed).spawn(n_blocks)."""
    return np.random.SeedSequence(seed).spawn(len(block_sizes(n_paths, block_size)))


def scramble_streams(seed: int, n_scrambles: int):
    """The SeedSequence of each Sobol scramble: SeedSequence(seed).spawn(n_scrambles)."""
    return np.random.SeedSequence(seed).spawn(n_scrambles)


def is_power_of_two(n: int) -> bool:
    return n >= 1 and n & (n - 1) == 0
