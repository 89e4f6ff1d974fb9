"""The Ocean env framework: declare a world once, write kernels, get drivers, GPU path and checks.

An env is one class (see :class:`OceanEnv`): a ``WORLD`` of named arrays
(:class:`Array`), its ``LOG_FIELDS``, and kernels ``reset_env(w, e)``, ``step_env(w, e)``
and optionally ``observe_agent(w, e, s)``, plain Numba-subset functions over the world
``w`` (a namedtuple of arrays) and an env / agent index, marked with :func:`kernel`.
From that the framework derives allocation, the compiled-call context, serial and
``prange`` CPU drivers (:mod:`~pufferlib.ocean.core.drivers`), per-space action checks,
logs, ``state(env_id)``, the GPU backend (:mod:`pufferlib.cuda_kernels`) and the
conformance checks (:mod:`pufferlib.ocean.testing`). ``docs/write-your-own-numba-env.md``
walks through it.

Randomness comes from :func:`rand_below` / :func:`next_u32` over the ``rng`` field of an
env's record (seeded by the framework on reset), never ``np.random``.
"""
import os

import pufferlib.ocean.core.cache  # noqa: F401  (before any @njit(cache=True))
from numba import njit

from pufferlib.checks import check_float, check_int
from pufferlib.ocean.core.env import OceanEnv
from pufferlib.ocean.core.rng import next_u32, rand_below, seed_state
from pufferlib.ocean.core.world import Array


def kernel(fn=None, *, inline=True):
    """Mark a Numba-subset function as an env kernel.

    ``@kernel`` is ``numba.njit(cache=True, inline="always")`` (no cache for a function
    typed at a plain ``python`` prompt, which has no source file): the function is inlined
    into the drivers at Numba's IR level (fastest code, compiled once per driver). Use
    ``@kernel(inline=False)`` for large functions called from several places, to compile
    them once. On a GPU the same source is compiled by ``numba.cuda.jit(device=True)``.
    """
    def wrap(f):
        # Numba caches only functions with a source file (or a notebook cell); at a plain
        # `python` prompt or under `python -c` there is none, so compile without a cache.
        cache = os.path.isfile(f.__code__.co_filename) or f.__code__.co_filename.startswith("<ipython")
        return njit(cache=cache, inline="always" if inline else "never")(f)
    return wrap if fn is None else wrap(fn)


__all__ = ["Array", "OceanEnv", "kernel", "check_int", "check_float", "next_u32", "rand_below",
           "seed_state"]
