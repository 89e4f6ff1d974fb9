"""One source, two devices: every registered Ocean env with ``device="cuda"`` gives the CPU's
trajectories, world arrays and logs for the same seed and actions, across resets.

Runs under the CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``, a separate pytest invocation in
``.ci/run``) or on a real GPU; skipped otherwise.
"""
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from pufferlib import APIUsageError
from pufferlib.ocean import ENVS, env_creator
from pufferlib.ocean.testing import check_cuda_matches_cpu, cuda_usable

pytestmark = [pytest.mark.cudasim,
              pytest.mark.skipif(not cuda_usable(), reason="needs NUMBA_ENABLE_CUDASIM=1 or a GPU")]


@pytest.fixture(autouse=True)
def _quiet_uint64_overflow():
    # The simulator runs kernels as Python on NumPy scalars, whose wrap-around in the
    # xorshift/splitmix arithmetic is intended but warns.
    with warnings.catch_warnings(), np.errstate(over="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


@pytest.mark.parametrize("name", sorted(ENVS))
def test_gpu_matches_cpu(name):
    check_cuda_matches_cpu(env_creator(name))


def test_gpu_matches_cpu_for_box_and_multidiscrete_actions():
    sys.path.insert(0, str(Path(__file__).parent))
    from _toy_envs import BoxDrift, MultiCounter
    check_cuda_matches_cpu(BoxDrift)
    check_cuda_matches_cpu(MultiCounter)


def test_check_catches_a_gpu_reset_that_keeps_logs(monkeypatch):
    """The drift the hand-written GPU drivers once had (reset not clearing the logs) fails the check."""
    import pufferlib.cuda_kernels as ck
    from pufferlib.ocean.squared import Squared

    from pufferlib.ocean.core.drivers import start_episode
    from pufferlib.ocean.core.rng import seed_state
    real = ck.kernel_functions

    def no_log_clearing(env_cls, clear_log, exact):
        @ck.cuda().jit(device=True)
        def keep(w, e):
            return
        fns = real(env_cls, clear_log, exact)
        start = ck._rebound(start_episode, {"SEED_STATE": ck.device_function(seed_state), "CLEAR_LOG": keep,
                                            "RESET_ENV": ck.device_function(env_cls.reset_env)})
        fns["reset_kernel"].__globals__["START_EPISODE"] = ck.cuda().jit(device=True)(start)
        return fns
    monkeypatch.setattr(ck, "kernel_functions", no_log_clearing)
    ck._kernels.cache_clear()
    try:
        with pytest.raises(AssertionError, match="logs|world array 'logs'"):
            check_cuda_matches_cpu(Squared)
    finally:
        ck._kernels.cache_clear()


def test_device_arrays_in_and_out():
    from numba import cuda

    from pufferlib.ocean.snake import Snake
    env = Snake(**Snake.test_config(), device="cuda")
    obs, _ = env.reset(0)
    assert hasattr(obs, "copy_to_host") and obs.shape == (env.num_agents, 7, 7)
    if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
        assert hasattr(obs, "__cuda_array_interface__")  # PyTorch / CuPy take it without a copy
    actions = cuda.to_device(np.zeros(env.num_agents, np.int32))
    o, r, t, tr, infos = env.step(actions)
    assert o is env.observations and hasattr(r, "copy_to_host")
    assert env.tick == 1
    st = env.state(1)
    assert hasattr(st["grid"], "copy_to_host") and st["grid"].shape == (env.height, env.width)


def test_gpu_rejects_bad_actions_and_steps_nothing():
    from pufferlib.ocean.squared import Squared
    env = Squared(num_envs=2, size=3, device="cuda")
    with pytest.raises(APIUsageError, match="reset"):
        env.step(np.zeros(2, np.int32))
    env.reset(0)
    before = env.observations.copy_to_host()
    for bad in (np.zeros(3, np.int32), np.full(2, 5, np.int32), np.zeros(2, np.float32), np.full(2, -1)):
        with pytest.raises(APIUsageError):
            env.step(bad)
        np.testing.assert_array_equal(env.observations.copy_to_host(), before)
        assert env.tick == 0
    env.step(np.ones(2, np.int64))
    assert env.tick == 1


def test_device_function_requires_njit():
    from pufferlib.cuda_kernels import device_function
    with pytest.raises(TypeError, match="njit"):
        device_function(lambda x: x)


def test_render_from_the_device():
    from pufferlib.ocean.cartpole import CartPole
    env = CartPole(num_envs=2, device="cuda", render_mode="rgb_array")
    env.reset(0)
    env.step(np.ones(2, np.int32))
    assert env.render().shape == (200, 600, 3)
