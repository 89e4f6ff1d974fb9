"""Deterministic per-environment random numbers, usable on the CPU (njit) and GPU (cuda).

The generator is xorshift64* (Vigna, "An experimental exploration of Marsaglia's
xorshift generators, scrambled", ACM TOMS 2016), seeded through splitmix64
(Steele, Lea & Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014).
Its 64-bit state lives in the ``rng`` field (uint64) of an environment's record, so
the same seed gives the same stream on every backend and device.

All arithmetic is done in explicit uint64 to stay in integer math under Numba.
"""
import numpy as np
import pufferlib.ocean.core.cache  # noqa: F401  (before any @njit(cache=True))
from numba import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_STAR = np.uint64(0x2545F4914F6CDD1D)


@njit(cache=True, inline="always")
def seed_state(seed, stream):
    """A non-zero xorshift64* state for ``(seed, stream)`` via two splitmix64 rounds.

    Args: seed, stream: non-negative ints (stream = the environment's index).
    Returns: uint64 state, never 0.
    """
    z = np.uint64(seed) * _GOLDEN + np.uint64(stream) + _GOLDEN
    for _ in range(2):
        z = (z ^ (z >> np.uint64(30))) * _MIX1
        z = (z ^ (z >> np.uint64(27))) * _MIX2
        z = z ^ (z >> np.uint64(31))
        z = z + _GOLDEN
    if z == np.uint64(0):
        z = _GOLDEN
    return z


@njit(cache=True, inline="always")
def next_u32(rec):
    """Advance ``rec['rng']`` (a record with a uint64 ``rng`` field) and return 32 random bits (uint64)."""
    x = rec['rng']
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    rec['rng'] = x
    return (x * _STAR) >> np.uint64(32)


@njit(cache=True, inline="always")
def rand_below(rec, n):
    """Uniform int in ``[0, n)`` for ``1 <= n < 2**32`` (multiply-shift, Lemire 2019), as int64."""
    return np.int64((next_u32(rec) * np.uint64(n)) >> np.uint64(32))
