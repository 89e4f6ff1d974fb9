"""GPU drivers for the Ocean kernels (``numba.cuda``), from the same source as the CPU.

:func:`device_function` takes a kernel compiled for the CPU with ``@njit`` and compiles its
Python source again with ``numba.cuda.jit(device=True)``. Every other ``njit`` kernel it
calls is converted the same way, so a call graph of plain Numba-subset functions
(``step_one`` -> ``end_episode`` -> ``reset_one`` -> ``rand_below``...) runs on the GPU
unchanged. The drivers in this package are thin kernels: a thread per env (or agent)
calling those device functions.

Without a GPU, set ``NUMBA_ENABLE_CUDASIM=1`` to run the drivers on Numba's CUDA
simulator (slow; for tiny configurations in tests). Needs ``numba-cuda``
(``pip install 'pufferlib-numba[cuda]'``) for a real GPU; the simulator ships with it.
"""
from __future__ import annotations

import types as pytypes

import numpy as np

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
            that both targets support (scalars, arrays, records; no allocation, no
            ``np.random``).

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
    py = dispatcher.py_func
    glb = dict(py.__globals__)
    for name in py.__code__.co_names:
        value = glb.get(name)
        if isinstance(value, CPUDispatcher):
            glb[name] = device_function(value)
    func = pytypes.FunctionType(py.__code__, glb, py.__name__, py.__defaults__, py.__closure__)
    func.__qualname__ = py.__qualname__
    func.__doc__ = py.__doc__
    dev = cuda().jit(device=True)(func)
    _DEVICE_FUNCTIONS[key] = dev
    return dev


def blocks(n: int) -> int:
    """Number of blocks of THREADS_PER_BLOCK threads covering ``n`` items."""
    return max(1, (n + THREADS_PER_BLOCK - 1) // THREADS_PER_BLOCK)


class DeviceWorld:
    """Device copies of a CPU env's world and step buffers, stepped by CUDA drivers.

    Args:
        env: an Ocean env (``Squared`` or ``Snake``); its arrays are copied to the device
            once. The CPU env is left untouched.
        reset_kernel, step_kernel: ``kernel[blocks, threads](*arrays, arg)`` launchers.
        arrays: names of ``env`` attributes copied to the device, in kernel argument order.
        threads_for: number of threads (envs or agents) each kernel needs.

    ``reset(seed)`` and ``step(actions)`` run on the device; ``host(name)`` copies an array back.
    """

    def __init__(self, env, reset_kernel, step_kernel, arrays, threads_for):
        self._cuda = cuda()
        self.env = env
        self.names = tuple(arrays)
        self.device = {name: self._cuda.to_device(np.ascontiguousarray(getattr(env, name)))
                       for name in self.names}
        self._reset_kernel = reset_kernel
        self._step_kernel = step_kernel
        self._threads = threads_for
        self._ready = False

    def _args(self):
        return [self.device[name] for name in self.names]

    def reset(self, seed: int = 0):
        """Reset every env on the device; env ``i`` is seeded with ``seed + i`` as on the CPU."""
        self._reset_kernel(self._args(), int(seed), self._threads)
        self._ready = True

    def step(self, actions):
        """Copy ``actions`` (int, shape ``(num_agents,)``, in range) to the device and step.

        Raises APIUsageError for a wrong shape or out-of-range action, or a step before reset.
        """
        if not self._ready:
            raise APIUsageError("call reset() before step()")
        a = np.asarray(actions)
        n = self.env.single_action_space.n
        if a.shape != self.env.actions.shape:
            raise APIUsageError(f"actions must have shape {self.env.actions.shape}, got {a.shape}")
        if not np.issubdtype(a.dtype, np.integer) or a.min() < 0 or a.max() >= n:
            raise APIUsageError(f"actions must be integers in [0, {n})")
        self.device["actions"].copy_to_device(np.ascontiguousarray(a, dtype=np.int32))
        self._step_kernel(self._args(), self._threads)

    def host(self, name: str) -> np.ndarray:
        """A host copy of device array ``name``."""
        return self.device[name].copy_to_host()
