"""CUDA drivers for Squared: one thread per env around the shared kernels of
:mod:`pufferlib.ocean.squared.squared`."""
import numpy as np

from pufferlib.cuda_kernels import DeviceWorld, blocks, cuda, device_function
from pufferlib.ocean.rng import seed_state
from pufferlib.ocean.squared import squared as cpu

ARRAYS = ("envs", "logs", "observations", "rewards", "terminals", "truncations", "actions")

_cuda = cuda()
_step_one = device_function(cpu.step_one)
_reset_one = device_function(cpu.reset_one)
_seed_state = device_function(seed_state)


@_cuda.jit
def _reset_kernel(envs, logs, obs, rewards, terminals, truncations, actions, seed):
    i = _cuda.grid(1)
    if i < envs.shape[0]:
        envs[i]["rng"] = _seed_state(np.int64(seed) + np.int64(i), 0)
        _reset_one(envs, i, obs)
        rewards[i] = 0.0
        terminals[i] = False
        truncations[i] = False


@_cuda.jit
def _step_kernel(envs, logs, obs, rewards, terminals, truncations, actions):
    i = _cuda.grid(1)
    if i < envs.shape[0]:
        _step_one(envs, logs, i, actions, obs, rewards, terminals, truncations)


def device_world(env) -> DeviceWorld:
    """A :class:`DeviceWorld` running ``env`` (a CPU ``Squared``) on the GPU."""
    def reset(args, seed, n):
        _reset_kernel[blocks(n), 128](*args, seed)

    def step(args, n):
        _step_kernel[blocks(n), 128](*args)
    return DeviceWorld(env, reset, step, ARRAYS, env.num_envs)
