"""Shared machinery of the Numba environments (the Ocean suite).

The pattern (``shared/DESIGN.md``):

- the world is a set of structured NumPy arrays (one record per env / entity);
- kernels (``reset_one``, ``step_one``, ``observe_one``...) are plain Numba-subset
  functions compiled by ``njit(cache=True)`` for the CPU and, from the same source,
  by ``numba.cuda.jit(device=True)`` (see :mod:`pufferlib.cuda_kernels`);
- CPU drivers are thin loops (serial, or ``prange`` over envs) around the kernels.

The Python-to-compiled call is the whole cost of a 1-env step, so drivers take just
two arguments: ``ctx``, an int64 array of buffer addresses and sizes built once at
construction, and the caller's ``actions`` array. ``address_as_array`` turns an address
back into an array inside compiled code. ``NumbaEnv`` holds the arrays that ``ctx``
points to for as long as it lives.
"""
from __future__ import annotations

import numbers

import numpy as np
import pufferlib.ocean._numba_cache  # noqa: F401  (before any @njit(cache=True))
from numba import carray, types
from numba.extending import intrinsic

from pufferlib.environment import PufferEnv
from pufferlib.exceptions import APIUsageError


@intrinsic
def _voidptr(typingctx, addr):
    """int64 address -> void pointer (compiled code only)."""
    if not isinstance(addr, types.Integer):
        return None
    sig = types.voidptr(addr)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(types.voidptr))
    return sig, codegen


from numba import njit  # noqa: E402


@njit(cache=True, inline='always')
def as_array1(addr, n, dtype):
    """A C-contiguous 1-D array of ``n`` items of ``dtype`` at address ``addr`` (compiled code only)."""
    return carray(_voidptr(addr), (n,), dtype)


@njit(cache=True, inline='always')
def as_array2(addr, n, m, dtype):
    """A C-contiguous ``(n, m)`` array of ``dtype`` at address ``addr`` (compiled code only)."""
    return carray(_voidptr(addr), (n, m), dtype)


@njit(cache=True, inline='always')
def as_array3(addr, n, m, k, dtype):
    """A C-contiguous ``(n, m, k)`` array of ``dtype`` at address ``addr`` (compiled code only)."""
    return carray(_voidptr(addr), (n, m, k), dtype)


@njit(cache=True, inline='always')
def as_array4(addr, n, m, k, l, dtype):
    """A C-contiguous ``(n, m, k, l)`` array of ``dtype`` at address ``addr`` (compiled code only)."""
    return carray(_voidptr(addr), (n, m, k, l), dtype)


# ---- ctx header shared by every Numba env --------------------------------------------
CTX_NUM_ENVS, CTX_READY, CTX_TICK, CTX_LOG_INTERVAL = 0, 1, 2, 3
#: First ctx slot an env may use for its own addresses and sizes.
CTX_HEADER = 4

#: Driver return codes. 0: stepped; 1: stepped and logs are due.
STEP_OK, STEP_LOG_DUE, ERR_SHAPE, ERR_RANGE, ERR_NOT_READY = 0, 1, 2, 3, 4


@njit(cache=True, inline="always")
def begin_step(ctx, src, dst, n_actions):
    """Driver prologue for Discrete actions: check the env is ready, copy ``src`` into the
    int32 action buffer ``dst`` while checking its length and range ``[0, n_actions)``
    (one branch-free pass), count the tick. Returns STEP_OK or an error code; on error the
    world, the tick and the step buffers are untouched (only the action scratch buffer
    may hold part of the rejected batch)."""
    if ctx[CTX_READY] == 0:
        return ERR_NOT_READY
    if src.shape[0] != dst.shape[0]:
        return ERR_SHAPE
    bad = 0
    for i in range(src.shape[0]):
        v = src[i]
        bad |= (v < 0) | (v >= n_actions)
        dst[i] = v
    if bad:
        return ERR_RANGE
    ctx[CTX_TICK] += 1
    return STEP_OK


@njit(cache=True, inline="always")
def end_step(ctx):
    """Driver epilogue: STEP_LOG_DUE every ``log_interval`` ticks, else STEP_OK."""
    if ctx[CTX_TICK] % ctx[CTX_LOG_INTERVAL] == 0:
        return STEP_LOG_DUE
    return STEP_OK


@njit(cache=True, inline="always")
def begin_reset(ctx):
    """Driver prologue for reset: tick = 0, env ready."""
    ctx[CTX_TICK] = 0
    ctx[CTX_READY] = 1


def address(arr: np.ndarray) -> int:
    """Address of a C-contiguous array's first byte. Raises APIUsageError otherwise."""
    if not arr.flags.c_contiguous:
        raise APIUsageError("compiled envs need C-contiguous buffers")
    return arr.__array_interface__["data"][0]


def check_int(name: str, value, low: int = None, high: int = None) -> int:
    """Validate an integer config value; raise APIUsageError naming it and the allowed range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise APIUsageError(f"{name} must be an int, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        rng = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise APIUsageError(f"{name} must be {rng}, got {value}")
    return int(value)


def check_float(name: str, value) -> float:
    """Validate a finite float config value; raise APIUsageError otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise APIUsageError(f"{name} must be a finite number, got {value!r}")
    return float(value)


class NumbaEnv(PufferEnv):
    """Base class of the Ocean envs: threads, the one-call step path, logs, seeding.

    A subclass sets its spaces, ``num_agents`` and ``num_envs``, calls
    ``super().__init__(buf, num_threads, log_interval, seed)``, allocates its world
    arrays (including ``self.logs``, a structured ``(num_envs,)`` array of float64 log
    fields with an ``n`` field), then calls ``self._finish_init(env_ctx, drivers)`` where
    ``env_ctx`` lists the int64 addresses / sizes its drivers read from
    ``ctx[CTX_HEADER:]`` and ``drivers = (reset_serial, step_serial, reset_parallel,
    step_parallel)``: ``reset(ctx, seed_array)`` and ``step(ctx, actions) -> code`` (see
    :func:`begin_step` / :func:`end_step`); the parallel ones are zero-argument factories.
    """

    def __init__(self, buf=None, num_threads=1, log_interval=128, seed=0):
        super().__init__(buf)
        import numba
        self.num_threads = check_int("num_threads", num_threads, 1, numba.config.NUMBA_NUM_THREADS)
        self.log_interval = check_int("log_interval", log_interval, 1)
        self.seed = check_int("seed", seed, 0, 2**62)
        self._seed_arr = np.zeros(1, np.int64)
        self._closed = False

    def _finish_init(self, env_ctx, drivers, parallel_min_envs=2):
        import numba
        header = [0] * CTX_HEADER
        header[CTX_NUM_ENVS] = self.num_envs
        header[CTX_LOG_INTERVAL] = self.log_interval
        self._ctx = np.array(header + list(env_ctx), dtype=np.int64)
        reset_s, step_s, reset_p, step_p = drivers
        self.parallel = self.num_threads > 1 and self.num_envs >= parallel_min_envs
        if self.parallel:
            numba.set_num_threads(self.num_threads)
            self._reset_fn, self._step_fn = reset_p(), step_p()
        else:
            self._reset_fn, self._step_fn = reset_s, step_s
        # Warm-up: compile (or load from Numba's cache) now, not on the user's first step.
        self.reset(self.seed)
        self.step(self.actions)
        self.reset(self.seed)
        self._ctx[CTX_READY] = 0

    @property
    def tick(self) -> int:
        """Steps since the last reset."""
        return int(self._ctx[CTX_TICK])

    def reset(self, seed=None):
        """Reset every env; env ``i`` is seeded with ``seed + i`` (``seed=None``: the constructor seed).

        Returns ``(observations, infos)`` with ``infos == []``.
        Raises APIUsageError for a negative or non-int seed, or after ``close()``.
        """
        if self._closed:
            raise APIUsageError("reset() called on a closed env")
        self._seed_arr[0] = self.seed if seed is None else check_int("seed", seed, 0, 2**62)
        self._reset_fn(self._ctx, self._seed_arr)
        return self.observations, []

    def step(self, actions):
        """Step every agent in place; finished episodes auto-reset.

        Args:
            actions: integer array of shape ``(num_agents,)``, values in
                ``[0, single_action_space.n)``. C-contiguous int32 / int64 arrays take the
                fast path (one compiled call); other integer array-likes are converted.

        Returns:
            ``(observations, rewards, terminals, truncations, infos)``: the env's own
            buffers, updated in place; ``infos`` is ``[]`` except every ``log_interval``
            steps, when it holds one dict of per-episode means (see :meth:`log`) if any
            episode ended since the last report.

        Raises:
            APIUsageError: wrong shape, dtype or range (nothing is stepped), a step
                before ``reset()``, or after ``close()``.
        """
        try:
            code = self._step_fn(self._ctx, actions)
        except TypeError:
            code = self._step_fn(self._ctx, self._convert_actions(actions))
        if code:
            return self._step_code(code, actions)
        return self.observations, self.rewards, self.terminals, self.truncations, []

    def _step_code(self, code, actions):
        if code == STEP_LOG_DUE:
            log = self.log()
            infos = [log] if log else []
            return self.observations, self.rewards, self.terminals, self.truncations, infos
        if code == ERR_NOT_READY:
            raise APIUsageError("step() called on a closed env" if self._closed
                                else "call reset() before the first step()")
        a = np.asarray(actions)
        if code == ERR_SHAPE:
            raise APIUsageError(f"actions must have shape {self.actions.shape} (one per agent), "
                                f"got shape {a.shape}")
        n = self.single_action_space.n
        raise APIUsageError(f"actions must be integers in [0, {n}) for Discrete({n}); "
                            f"got min {a.min()}, max {a.max()}")

    def _convert_actions(self, actions):
        a = np.asarray(actions)
        if a.shape != self.actions.shape:
            raise APIUsageError(f"actions must have shape {self.actions.shape} (one per agent), "
                                f"got shape {a.shape}")
        if not (np.issubdtype(a.dtype, np.integer) or a.dtype == np.bool_):
            raise APIUsageError(f"actions must be integers for {self.single_action_space}, "
                                f"got dtype {a.dtype}")
        return np.ascontiguousarray(a, dtype=np.int64)

    def log(self) -> dict:
        """Per-episode means of the log fields over the episodes finished since the last
        call, plus ``n`` (their count); ``{}`` if none finished. Zeroes the logs.

        Reference: PufferLib 3.0 ``vec_log`` (``shared/specs/README.md``, Logging).
        """
        sums = sum_logs(self.logs.view(np.float64).reshape(self.num_envs, -1))
        n = float(sums[self.logs.dtype.names.index("n")])
        if n == 0:
            return {}
        out = {name: float(sums[k]) / n for k, name in enumerate(self.logs.dtype.names) if name != "n"}
        out["n"] = float(n)
        return out

    def __getstate__(self):
        raise TypeError(
            f"{type(self).__name__} cannot be pickled or copied: its compiled drivers hold the "
            "addresses of its own arrays. Create it where it runs, e.g. through an env creator "
            "passed to pufferlib.vector.make")

    def close(self):
        """Mark the env closed; later reset()/step() raise APIUsageError. Idempotent."""
        self._closed = True
        self._ctx[CTX_READY] = 0


@njit(cache=True)
def sum_logs(logs):
    """Column sums of a ``(num_envs, fields)`` float64 log table, then zero it."""
    out = np.zeros(logs.shape[1])
    for i in range(logs.shape[0]):
        for k in range(logs.shape[1]):
            out[k] += logs[i, k]
            logs[i, k] = 0.0
    return out


def compile_driver(func, signatures, parallel: bool):
    """Compile a driver written with ``prange`` for the CPU, serially or in parallel.

    The same Python source is compiled twice; the parallel copy gets its own
    ``__qualname__`` so Numba's on-disk cache keeps the two apart. Explicit
    ``signatures`` make the dispatcher reject other argument types with a
    TypeError instead of compiling at step time.
    """
    import types as pytypes
    if parallel:
        func = pytypes.FunctionType(func.__code__, func.__globals__, func.__name__ + "_parallel",
                                    func.__defaults__, func.__closure__)
        func.__qualname__ = func.__name__
    return njit(signatures, cache=True, parallel=parallel, error_model="numpy")(func)


def action_signatures():
    """Driver signatures ``int32(ctx int64[::1], actions int32[::1] | int64[::1])``."""
    return [types.int32(types.int64[::1], types.int32[::1]),
            types.int32(types.int64[::1], types.int64[::1])]


RESET_SIGNATURE = [types.int32(types.int64[::1], types.int64[::1])]


def compile_drivers(step_driver, reset_driver):
    """The ``drivers`` tuple for :meth:`NumbaEnv._finish_init` from two ``prange`` drivers.

    Returns ``(reset_serial, step_serial, reset_parallel, step_parallel)``: the serial
    ones compiled now (or loaded from cache), the parallel ones as cached zero-argument
    factories, compiled only when an env asks for more than one thread.
    """
    import functools
    return (compile_driver(reset_driver, RESET_SIGNATURE, parallel=False),
            compile_driver(step_driver, action_signatures(), parallel=False),
            functools.cache(lambda: compile_driver(reset_driver, RESET_SIGNATURE, parallel=True)),
            functools.cache(lambda: compile_driver(step_driver, action_signatures(), parallel=True)))


#: Per-env sums over finished episodes, reported as per-episode means by ``NumbaEnv.log``
#: (PufferLib 3.0's ``Log`` struct: every field summed, then divided by ``n``).
LOG_DTYPE = np.dtype([("perf", np.float64), ("score", np.float64), ("episode_return", np.float64),
                      ("episode_length", np.float64), ("n", np.float64)])


@njit(cache=True, inline="always")
def clear_log(logs, i):
    """Zero env ``i``'s episode log (a LOG_DTYPE record array)."""
    lg = logs[i]
    lg["perf"] = 0.0
    lg["score"] = 0.0
    lg["episode_return"] = 0.0
    lg["episode_length"] = 0.0
    lg["n"] = 0.0
