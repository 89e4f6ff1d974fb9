"""One source, two devices: the Ocean kernels compiled as numba.cuda device functions give
the same trajectories as the CPU for the same seed and actions.

Runs under the CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``, a separate pytest invocation in
``.ci/run``) or on a real GPU; skipped otherwise.
"""
import os
import warnings

import numpy as np
import pytest

from pufferlib import APIUsageError


def _cuda_usable():
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return True
    try:
        from numba import cuda
        return cuda.is_available()
    except Exception:
        return False


pytestmark = [pytest.mark.cudasim,
              pytest.mark.skipif(not _cuda_usable(), reason="needs NUMBA_ENABLE_CUDASIM=1 or a GPU")]


@pytest.fixture(autouse=True)
def _quiet_uint64_overflow():
    # The simulator runs kernels as Python on NumPy scalars, whose wrap-around in the
    # xorshift/splitmix arithmetic is intended but warns.
    with warnings.catch_warnings(), np.errstate(over="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _compare(env, world, steps, seed, names):
    rng = np.random.default_rng(seed)
    env.reset(seed)
    world.reset(seed)
    for name in names:
        np.testing.assert_array_equal(world.host(name), getattr(env, name), err_msg=f"reset: {name}")
    for t in range(steps):
        a = rng.integers(0, env.single_action_space.n, env.num_agents).astype(np.int32)
        env.step(a)
        world.step(a)
        for name in names:
            np.testing.assert_array_equal(world.host(name), getattr(env, name), err_msg=f"step {t}: {name}")


def test_squared_gpu_matches_cpu():
    from pufferlib.cuda_kernels import squared
    from pufferlib.ocean.squared import Squared
    env = Squared(num_envs=3, size=5)
    world = squared.device_world(env)
    _compare(env, world, 40, 11, ("observations", "rewards", "terminals", "truncations", "envs", "logs"))


def test_snake_gpu_matches_cpu():
    from pufferlib.cuda_kernels import snake
    from pufferlib.ocean.snake import Snake
    env = Snake(num_envs=2, width=14, height=13, num_snakes=3, num_food=6, vision=2, max_snake_length=8)
    world = snake.device_world(env)
    _compare(env, world, 25, 4, ("observations", "rewards", "terminals", "grid", "snakes", "bodies", "logs"))


def test_device_world_rejects_bad_actions():
    from pufferlib.cuda_kernels import squared
    from pufferlib.ocean.squared import Squared
    world = squared.device_world(Squared(num_envs=2, size=3))
    with pytest.raises(APIUsageError, match="reset"):
        world.step(np.zeros(2, np.int32))
    world.reset(0)
    for bad in (np.zeros(3, np.int32), np.full(2, 5, np.int32), np.zeros(2, np.float32)):
        with pytest.raises(APIUsageError):
            world.step(bad)


def test_device_function_requires_njit():
    from pufferlib.cuda_kernels import device_function
    with pytest.raises(TypeError, match="njit"):
        device_function(lambda x: x)
