"""CUDA drivers for Snake around the shared kernels of :mod:`pufferlib.ocean.snake.snake`:
a thread per env moves its snakes in index order (they share the env's grid), then a
thread per agent writes its observation."""
import numpy as np

from pufferlib.cuda_kernels import DeviceWorld, blocks, cuda, device_function
from pufferlib.ocean.rng import seed_state
from pufferlib.ocean.snake import snake as cpu

ARRAYS = ("envs", "snakes", "bodies", "grid", "logs", "observations", "rewards", "terminals",
          "truncations", "actions")

_cuda = cuda()
_reset_env = device_function(cpu.reset_env)
_step_env = device_function(cpu.step_env)
_observe_one = device_function(cpu.observe_one)
_seed_state = device_function(seed_state)


@_cuda.jit
def _reset_kernel(envs, snakes, bodies, grid, logs, obs, rewards, terminals, truncations, actions, seed):
    e = _cuda.grid(1)
    if e < envs.shape[0]:
        envs[e]["rng"] = _seed_state(np.int64(seed) + np.int64(e), 0)
        _reset_env(envs, snakes, bodies, grid, logs, e)


@_cuda.jit
def _step_kernel(envs, snakes, bodies, grid, logs, obs, rewards, terminals, truncations, actions):
    e = _cuda.grid(1)
    if e < envs.shape[0]:
        _step_env(envs, snakes, bodies, grid, logs, e, actions, rewards, terminals, truncations)


@_cuda.jit
def _observe_kernel(envs, snakes, grid, obs, rewards, terminals, truncations, reset):
    agent = _cuda.grid(1)
    ns = snakes.shape[1]
    if agent < envs.shape[0] * ns:
        e = agent // ns
        _observe_one(envs, snakes, grid, obs, e, agent - e * ns)
        if reset:
            rewards[agent] = 0.0
            terminals[agent] = False
            truncations[agent] = False


def device_world(env) -> DeviceWorld:
    """A :class:`DeviceWorld` running ``env`` (a CPU ``Snake``) on the GPU."""
    num_envs, num_agents = env.num_envs, env.num_agents

    def observe(args, reset):
        envs, snakes, _, grid, _, obs, rewards, terminals, truncations, _ = args
        _observe_kernel[blocks(num_agents), 128](envs, snakes, grid, obs, rewards, terminals,
                                                  truncations, reset)

    def reset(args, seed, n):
        _reset_kernel[blocks(num_envs), 128](*args, seed)
        observe(args, True)

    def step(args, n):
        _step_kernel[blocks(num_envs), 128](*args)
        observe(args, False)
    return DeviceWorld(env, reset, step, ARRAYS, num_envs)
