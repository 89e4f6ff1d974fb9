"""The GPU backend of the Ocean envs: the same kernels, compiled by ``numba.cuda``.

``Env(..., device="cuda")`` keeps the world and the step buffers on the GPU and steps
them with kernels derived, for every env, from the templates in this module:

- ``reset``: a thread per env seeds the env's ``rng``, zeroes its log and step buffers
  and calls the env's ``reset_env(w, e)``;
- ``step``: a thread per action component checks the batch and copies it into the world
  (any bad component sets a flag); a thread per env calls ``step_env(w, e)`` (skipped
  when the flag is set); a thread per agent calls ``observe_agent(w, e, s)``;
- ``log``: a thread per log field sums it over envs and zeroes it; only the sums
  (a few float64) are copied to the host, and only when logs are due.

:func:`device_function` turns an ``@njit`` kernel into a ``numba.cuda.jit(device=True)``
function by compiling its Python source again, with its calls to other ``@njit``
functions rebound to their device versions. No env has a GPU file of its own.

``step`` takes NumPy arrays (copied to the device) or any GPU array exposing
``__cuda_array_interface__`` (PyTorch, CuPy, Numba; used without a copy), and returns
Numba device arrays, which PyTorch (``torch.as_tensor``) and CuPy (``cupy.asarray``) take
without a copy. The host learns the step's outcome from one 4-byte copy of the error flag.

Floating point: numba-cuda contracts ``a * b + c`` into fused multiply-adds by default
(``fastmath`` off; FMA contraction on), which the CPU build does not, and device math
functions (``sin``, ``exp``, ...) may differ from the host's in the last bits; float envs
can therefore drift apart from the CPU over many steps. The Ocean envs so far keep their
state in integers and float32 sums of constants, so CPU and GPU trajectories are equal.

Without a GPU, ``NUMBA_ENABLE_CUDASIM=1`` runs all of this on Numba's CUDA simulator
(slow; for tiny configurations in tests). Needs ``numba-cuda``
(``pip install 'pufferlib-numba[cuda]'``).
"""
from __future__ import annotations

import functools
import types as pytypes

import numpy as np

from pufferlib.checks import check_int
from pufferlib.exceptions import APIUsageError, EnvironmentSetupError

_DEVICE_FUNCTIONS = {}
THREADS_PER_BLOCK = 128


def cuda():
    """The ``numba.cuda`` module. Raises EnvironmentSetupError if it cannot be imported."""
    try:
        from numba import cuda as _cuda
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise EnvironmentSetupError(
            "numba.cuda is not available; pip install 'pufferlib-numba[cuda]'") from exc
    return _cuda


def device_function(dispatcher):
    """Compile an ``@njit`` kernel's source as a CUDA device function.

    Args:
        dispatcher: a Numba CPU dispatcher (``@njit`` function) written in the subset
            that both targets support (scalars, arrays, records, tuples; no allocation,
            no ``np.random``).

    Returns:
        The ``numba.cuda.jit(device=True)`` version; calls inside it to other ``@njit``
        functions are rebound to their device versions (memoized).

    Raises:
        TypeError: ``dispatcher`` is not a Numba ``@njit`` function.
    """
    from numba.core.registry import CPUDispatcher
    if not isinstance(dispatcher, CPUDispatcher):
        raise TypeError(f"device_function needs an @njit function, got {type(dispatcher).__name__}")
    key = dispatcher.py_func
    if key in _DEVICE_FUNCTIONS:
        return _DEVICE_FUNCTIONS[key]
    func = _rebound(dispatcher.py_func, {})
    dev = cuda().jit(device=True)(func)
    _DEVICE_FUNCTIONS[key] = dev
    return dev


def _rebound(py, bindings):
    """A copy of ``py`` whose ``@njit`` globals are device functions, plus ``bindings``."""
    from numba.core.registry import CPUDispatcher
    glb = dict(py.__globals__)
    for name in py.__code__.co_names:
        value = glb.get(name)
        if isinstance(value, CPUDispatcher):
            glb[name] = device_function(value)
    glb.update(bindings)
    func = pytypes.FunctionType(py.__code__, glb, py.__name__, py.__defaults__, py.__closure__)
    func.__qualname__ = py.__qualname__
    func.__doc__ = py.__doc__
    return func


def blocks(n: int) -> int:
    """Number of blocks of THREADS_PER_BLOCK threads covering ``n`` items."""
    return max(1, (n + THREADS_PER_BLOCK - 1) // THREADS_PER_BLOCK)


# ---- kernel templates: START_EPISODE, STEP_ENV, OBSERVE_AGENT are rebound per env ----
START_EPISODE = STEP_ENV = OBSERVE_AGENT = None
EXACT = True
CUDA = None  # the numba.cuda module, bound with the rest


# Env and agent indices reach the kernels as uint32, as on the CPU.
def reset_kernel(w, seed, agents):
    e = CUDA.grid(1)
    if e < w.envs.shape[0]:
        START_EPISODE(w, np.uint32(e), seed, np.uint32(agents))


def check_kernel(src, dst, low, high, flag):
    # The same rule as pufferlib.ocean.core.drivers.check_actions, a thread per component.
    i = CUDA.grid(1)
    if i < src.shape[0]:
        k = i % low.shape[0]
        v = src[i]
        dst[i] = v
        x = dst[i]
        if x < low[k] or x > high[k] or (x - x) != 0 or (EXACT and x != v):
            flag[0] = 1


def step_kernel(w, flag):
    e = CUDA.grid(1)
    if e < w.envs.shape[0] and flag[0] == 0:
        STEP_ENV(w, np.uint32(e))


def observe_kernel(w, agents, flag):
    a = CUDA.grid(1)
    if a < w.rewards.shape[0] and flag[0] == 0:
        e = a // agents
        OBSERVE_AGENT(w, np.uint32(e), np.uint32(a - e * agents))


def log_kernel(logs, out):
    k = CUDA.grid(1)
    if k < logs.shape[1]:
        total = 0.0
        for e in range(logs.shape[0]):
            total += logs[e, k]
            logs[e, k] = 0.0
        out[k] = total


TEMPLATES = ("reset_kernel", "check_kernel", "step_kernel", "observe_kernel", "log_kernel")


def kernel_functions(env_cls, clear_log, exact=True) -> dict:
    """``{template name: Python function}``: this module's kernel templates with their
    globals bound to ``env_cls``'s kernels as device functions (for ``cuda.jit`` or
    ``cuda.compile_ptx``); ``exact``: the action buffer holds integers."""
    from pufferlib.ocean.core.drivers import no_observe, start_episode
    from pufferlib.ocean.core.rng import seed_state
    _cuda = cuda()
    start = _rebound(start_episode, {"SEED_STATE": device_function(seed_state),
                                     "CLEAR_LOG": device_function(clear_log),
                                     "RESET_ENV": device_function(env_cls.reset_env)})
    bindings = {"CUDA": _cuda, "START_EPISODE": _cuda.jit(device=True)(start),
                "EXACT": bool(exact),
                "STEP_ENV": device_function(env_cls.step_env),
                "OBSERVE_AGENT": device_function(getattr(env_cls, "observe_agent", None) or no_observe)}
    return {name: _rebound(globals()[name], bindings) for name in TEMPLATES}


@functools.lru_cache(maxsize=None)
def _kernels(env_cls, clear_log, exact):
    _cuda = cuda()
    return {name: _cuda.jit(fn) for name, fn in kernel_functions(env_cls, clear_log, exact).items()}


class CudaBackend:
    """Runs an :class:`~pufferlib.ocean.core.OceanEnv` on the GPU (``device="cuda"``).

    Built by the env from its freshly allocated host world: every world array is copied
    to the device once, and the env's array attributes (``env.observations``,
    ``env.envs``, ``env.world``...) are replaced by the device arrays. The env's
    ``reset`` / ``step`` / ``log`` are this object's methods.

    Raises:
        pufferlib.EnvironmentSetupError: numba-cuda is missing or no GPU is usable.
    """

    def __init__(self, env):
        _cuda = cuda()
        try:
            available = _cuda.is_available()
        except Exception:  # pragma: no cover - driver-specific failures
            available = False
        if not available:
            raise EnvironmentSetupError(
                "device='cuda' needs a CUDA GPU and driver (none found by numba.cuda); "
                "set NUMBA_ENABLE_CUDASIM=1 to run on Numba's CUDA simulator")
        self._cuda = _cuda
        self.env = env
        layout = env.layout
        clear_log = layout.compile_unpack().clear_log
        self.kernels = _kernels(type(env), clear_log, env.actions.dtype.kind in "iu")
        dev = {name: _cuda.to_device(np.ascontiguousarray(getattr(env, name))) for name in layout.names}
        for name, arr in dev.items():
            setattr(env, name, arr)
        env.world = self.world = layout.world_type()(*(dev[k] for k in layout.world_names))
        self._bounds = dev["action_low"], dev["action_high"]
        self.num_envs, self.num_agents, self.agents = env.num_envs, env.num_agents, env.agents_per_env
        self._flat_actions = dev["actions"].reshape(dev["actions"].size)
        self._flag = _cuda.to_device(np.zeros(1, np.int32))
        self._flag_host = _cuda.pinned_array(1, np.int32)
        n_fields = len(layout.log_dtype.names)
        self._log_table = dev["logs"].view(np.float64).reshape(self.num_envs, n_fields)
        self._log_sums = _cuda.device_array(n_fields, np.float64)
        self._staging = {}
        self.tick = 0
        self.ready = False

    def reset(self, seed=None):
        """Reset every env on the device; env ``i`` is seeded with ``seed + i`` as on the CPU.
        Returns ``(observations, [])`` (device array)."""
        seed = self.env._check_reset(seed)
        k = self.kernels
        k["reset_kernel"][blocks(self.num_envs), THREADS_PER_BLOCK](self.world, seed, self.agents)
        k["observe_kernel"][blocks(self.num_agents), THREADS_PER_BLOCK](self.world, self.agents, self._flag)
        self.tick = 0
        self.ready = True
        return self.env.observations, []

    def _device_actions(self, actions):
        env = self.env
        if hasattr(actions, "__cuda_array_interface__"):
            a = self._cuda.as_cuda_array(actions)
        else:
            # Host actions: the library's action rule first (masked entries, ragged lists...).
            from pufferlib.spaces import check_actions
            a = check_actions(env.single_action_space, actions, env.num_agents).reshape(env.actions.shape)
        if a.shape != env.actions.shape:
            raise APIUsageError(f"actions must have shape {env.actions.shape} (one per agent), got shape {a.shape}")
        env._check_action_dtype(a)
        if isinstance(a, np.ndarray):
            a = np.ascontiguousarray(a)
            if a.dtype not in self._staging:
                self._staging[a.dtype] = self._cuda.device_array(a.size, a.dtype)
            stage = self._staging[a.dtype]
            stage.copy_to_device(a.reshape(-1))
            return stage
        if not a.is_c_contiguous():
            raise APIUsageError("device actions must be C-contiguous")
        return a.reshape(a.size)

    def step(self, actions):
        """Check and copy ``actions`` to the device, step every env, write observations.

        Returns ``(observations, rewards, terminals, truncations, infos)``: device arrays
        (updated in place) and a list with one log dict every ``log_interval`` steps.

        Raises:
            APIUsageError: wrong shape, dtype or range (nothing is stepped), a step before
                ``reset()`` or after ``close()``.
        """
        env = self.env
        if not self.ready:
            raise APIUsageError("step() called on a closed env" if env._closed
                                else "call reset() before the first step()")
        src = self._device_actions(actions)
        k = self.kernels
        n_items = src.shape[0]
        k["check_kernel"][blocks(n_items), THREADS_PER_BLOCK](
            src, self._flat_actions, *self._bounds, self._flag)
        k["step_kernel"][blocks(self.num_envs), THREADS_PER_BLOCK](self.world, self._flag)
        k["observe_kernel"][blocks(self.num_agents), THREADS_PER_BLOCK](self.world, self.agents, self._flag)
        self._flag.copy_to_host(self._flag_host)
        if self._flag_host[0]:
            self._flag.copy_to_device(np.zeros(1, np.int32))
            host = src.copy_to_host().reshape(env.actions.shape)  # for the error message
            from pufferlib.ocean.core.drivers import ERR_RANGE
            env._raise_for(ERR_RANGE, host)
        self.tick += 1
        infos = []
        if self.tick % env.log_interval == 0:
            log = self.log()
            if log:
                infos.append(log)
        return env.observations, env.rewards, env.terminals, env.truncations, infos

    def log(self) -> dict:
        """Per-episode means of the log fields (reduced on the device), as on the CPU."""
        table = self._log_table
        self.kernels["log_kernel"][blocks(table.shape[1]), THREADS_PER_BLOCK](table, self._log_sums)
        return self.env._means(self._log_sums.copy_to_host())

    def state(self, env_id, copy=False):
        """``{name: array}`` of env ``env_id``: device array views, or host copies with ``copy=True``."""
        env = self.env
        check_int("env_id", env_id, 0, self.num_envs - 1)
        views = env._state(int(env_id))
        if copy:
            return {k: np.array(v.copy_to_host()) for k, v in views.items()}
        return views


def compile_ptx(env, cc=(9, 0)) -> dict:
    """PTX of every GPU kernel of ``env``'s class for compute capability ``cc``, compiled
    from the env's kernels without a GPU (needs the CUDA toolkit's NVVM, e.g.
    ``pip install 'numba-cuda[cu12]'``).

    Args:
        env: a constructed CPU Ocean env (its world gives the argument types).
        cc: ``(major, minor)``, e.g. ``(8, 0)`` for A100, ``(9, 0)`` for H100.

    Returns:
        ``{kernel name: PTX text}`` for the reset, check, step, observe and log kernels.

    Raises:
        pufferlib.EnvironmentSetupError: under ``NUMBA_ENABLE_CUDASIM=1`` (the simulator
            has no compiler).
        numba.core.errors.TypingError, TypeError: a kernel uses something numba.cuda
            cannot compile (``np.random``, allocation, Python objects).
    """
    import contextlib
    import os
    from unittest import mock

    import numba
    from numba import types
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        raise EnvironmentSetupError("compile_ptx needs numba.cuda's compiler; unset NUMBA_ENABLE_CUDASIM "
                                    "(the CUDA simulator runs kernels as Python and compiles nothing)")
    _cuda = cuda()
    clear_log = env.layout.compile_unpack().clear_log
    fns = kernel_functions(type(env), clear_log, env.actions.dtype.kind in "iu")
    world = numba.typeof(env.world)
    flag = types.int32[::1]
    actions = numba.typeof(np.ascontiguousarray(env.actions).reshape(-1))
    bounds = numba.typeof(np.empty(1, env.layout.decl["action_low"].dtype))
    sigs = {"reset_kernel": (world, types.int64, types.int64),
            "check_kernel": (actions, actions, bounds, bounds, flag),
            "step_kernel": (world, flag),
            "observe_kernel": (world, types.int64, flag),
            "log_kernel": (types.float64[:, ::1], types.float64[::1])}
    # Device functions compile for the current device's compute capability; with no GPU
    # there is none, so name the one asked for.
    device = pytypes.SimpleNamespace(compute_capability=tuple(cc))
    from numba.cuda import dispatcher as _dispatcher
    patch = (mock.patch.object(_dispatcher, "get_current_device", lambda: device)
             if hasattr(_dispatcher, "get_current_device") else contextlib.nullcontext())
    with patch:
        try:
            return {name: _cuda.compile_ptx(fns[name], sig, cc=tuple(cc))[0] for name, sig in sigs.items()}
        except RecursionError as exc:  # numba-cuda's typing recurses on some CPU-only calls
            raise TypeError(f"{type(env).__name__}'s kernels use something numba.cuda cannot compile "
                            "(np.random, allocation or Python objects?)") from exc
