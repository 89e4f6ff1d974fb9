"""Squared: one agent on a square grid must step onto a target cell.

Mechanics follow ``shared/specs/squared.md`` (PufferLib 3.0 ``ocean/squared``):
the agent starts in the centre of a ``size x size`` grid; the target is uniform over
the other cells; moves are NOOP/DOWN/UP/LEFT/RIGHT; reaching the target gives +1,
leaving the grid or running out of time (``tick > 3*size``) gives -1; the env
auto-resets in the same step.

Differences from the C reference, on purpose:

- a timeout sets ``truncations[i]`` (the C env never writes truncations and flags
  a timeout as terminal); leaving the grid or reaching the target sets ``terminals[i]``;
- actions outside ``[0, 5)`` raise ``APIUsageError`` instead of acting as NOOP.
"""
from __future__ import annotations

import gymnasium
import numpy as np
from numba import njit, prange

from pufferlib.exceptions import APIUsageError
from pufferlib.ocean.core import (CTX_HEADER, CTX_NUM_ENVS, LOG_DTYPE, NumbaEnv, address, as_array1,
                                  as_array2, begin_reset, begin_step, check_int, clear_log,
                                  compile_drivers, end_step)
from pufferlib.ocean.rng import rand_below, seed_state

#: One record per env.
ENV_DTYPE = np.dtype([("rng", np.uint64), ("tick", np.int32), ("size", np.int32),
                      ("r", np.int32), ("c", np.int32), ("target", np.int32)], align=True)

EMPTY, AGENT, TARGET = 0, 1, 2
NOOP, DOWN, UP, LEFT, RIGHT = 0, 1, 2, 3, 4
NUM_ACTIONS = 5


# ---- kernels: plain Numba-subset code, compiled for the CPU here and for CUDA in
# ---- pufferlib.cuda_kernels (one source, two devices) ------------------------------
@njit(cache=True, inline="always")
def reset_one(envs, i, obs):
    """Start a new episode in env ``i``: clear its board, agent at the centre, random target."""
    e = envs[i]
    size = e["size"]
    cells = size * size
    for k in range(cells):
        obs[i, k] = EMPTY
    half = size // 2
    e["r"] = half
    e["c"] = half
    e["tick"] = 0
    centre = half * size + half
    obs[i, centre] = AGENT
    target = rand_below(e, cells)
    while target == centre:
        target = rand_below(e, cells)
    e["target"] = target
    obs[i, target] = TARGET


@njit(cache=True, inline="always")
def end_episode(envs, logs, i, obs, reward):
    """Add the finished episode to env ``i``'s log, then reset it."""
    lg = logs[i]
    if reward > 0:
        lg["perf"] += 1.0
    lg["score"] += reward
    lg["episode_return"] += reward
    lg["episode_length"] += envs[i]["tick"]
    lg["n"] += 1.0
    reset_one(envs, i, obs)


@njit(cache=True, inline="always")
def step_one(envs, logs, i, actions, obs, rewards, terminals, truncations):
    """One step of env ``i`` (spec: squared.md, Step)."""
    e = envs[i]
    size = e["size"]
    e["tick"] += 1
    rewards[i] = 0.0
    terminals[i] = False
    truncations[i] = False
    r = e["r"]
    c = e["c"]
    obs[i, r * size + c] = EMPTY
    a = actions[i]
    if a == DOWN:
        r += 1
    elif a == UP:
        r -= 1
    elif a == LEFT:
        c -= 1
    elif a == RIGHT:
        c += 1
    off_grid = r < 0 or r >= size or c < 0 or c >= size
    if off_grid or e["tick"] > 3 * size:
        rewards[i] = -1.0
        if off_grid:
            terminals[i] = True
        else:
            truncations[i] = True
        end_episode(envs, logs, i, obs, -1.0)
        return
    pos = r * size + c
    if pos == e["target"]:
        rewards[i] = 1.0
        terminals[i] = True
        end_episode(envs, logs, i, obs, 1.0)
        return
    e["r"] = r
    e["c"] = c
    obs[i, pos] = AGENT


# ---- CPU drivers ------------------------------------------------------------------
@njit(cache=True, inline="always")
def _unpack(ctx):
    n = ctx[CTX_NUM_ENVS]
    h = CTX_HEADER
    cells = ctx[h]
    envs = as_array1(ctx[h + 1], n, ENV_DTYPE)
    logs = as_array1(ctx[h + 2], n, LOG_DTYPE)
    obs = as_array2(ctx[h + 3], n, cells, np.uint8)
    rewards = as_array1(ctx[h + 4], n, np.float32)
    terminals = as_array1(ctx[h + 5], n, np.bool_)
    truncations = as_array1(ctx[h + 6], n, np.bool_)
    actions = as_array1(ctx[h + 7], n, np.int32)
    return n, envs, logs, obs, rewards, terminals, truncations, actions


def _step_driver(ctx, user_actions):
    n, envs, logs, obs, rewards, terminals, truncations, actions = _unpack(ctx)
    err = begin_step(ctx, user_actions, actions, NUM_ACTIONS)
    if err != 0:
        return err
    for i in prange(n):
        step_one(envs, logs, i, actions, obs, rewards, terminals, truncations)
    return end_step(ctx)


def _reset_driver(ctx, seed):
    n, envs, logs, obs, rewards, terminals, truncations, actions = _unpack(ctx)
    for i in prange(n):
        envs[i]["rng"] = seed_state(np.int64(seed[0]) + np.int64(i), 0)
        reset_one(envs, i, obs)
        rewards[i] = 0.0
        terminals[i] = False
        truncations[i] = False
        clear_log(logs, i)
    begin_reset(ctx)
    return 0


#: (reset_serial, step_serial, reset_parallel, step_parallel)
DRIVERS = compile_drivers(_step_driver, _reset_driver)


class Squared(NumbaEnv):
    """Squared (``shared/specs/squared.md``): ``num_envs`` independent single-agent grids.

    Args:
        num_envs: number of envs (= agents), >= 1.
        size: grid side, odd and >= 3 (default 11).
        log_interval: ``step`` reports logs every this many calls (default 128).
        num_threads: CPU threads stepping envs in parallel (default 1; process-wide
            Numba setting; parallel only when ``num_envs >= 2``).
        buf: buffers from a vectorizer (see :func:`pufferlib.set_buffers`), or None.
        seed: default seed; env ``i`` is seeded with ``seed + i``.

    Spaces: observation ``Box(0, 2, (size*size,), uint8)``: the row-major board, 0 empty,
    1 agent, 2 target. Action ``Discrete(5)``: NOOP, DOWN (row+1), UP, LEFT, RIGHT (col+1).
    Rewards float32: +1 target reached, -1 left the grid or timed out, else 0.

    Log fields (per-episode means): ``perf`` (success rate), ``score``,
    ``episode_return``, ``episode_length``, ``n``.

    ``state(env_id)`` returns ``{'env': record (tick, rng, size, r, c, target),
    'board': (size*size,) uint8 view of the observation row}``.

    Raises:
        APIUsageError: invalid config (message names the parameter and allowed values).
    """

    def __init__(self, num_envs=1, size=11, log_interval=128, num_threads=1, buf=None, seed=0):
        self.num_envs = check_int("num_envs", num_envs, 1)
        self.size = check_int("size", size, 3, 255)
        if self.size % 2 == 0:
            raise APIUsageError(f"size must be odd (the agent starts in the centre cell), got {size}")
        self.single_observation_space = gymnasium.spaces.Box(
            low=0, high=2, shape=(self.size * self.size,), dtype=np.uint8)
        self.single_action_space = gymnasium.spaces.Discrete(NUM_ACTIONS)
        self.num_agents = self.num_envs
        super().__init__(buf, num_threads=num_threads, log_interval=log_interval, seed=seed)
        self.envs = np.zeros(self.num_envs, ENV_DTYPE)
        self.envs["size"] = self.size
        self.logs = np.zeros(self.num_envs, LOG_DTYPE)
        self._finish_init(
            [self.size * self.size, address(self.envs), address(self.logs), address(self.observations),
             address(self.rewards), address(self.terminals), address(self.truncations),
             address(self.actions)],
            DRIVERS)

    def _state(self, env_id):
        return {"env": self.envs[env_id:env_id + 1], "board": self.observations[env_id]}

