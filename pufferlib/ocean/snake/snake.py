"""Snake: many snakes per shared grid eat food and corpses (``shared/specs/snake.md``).

Each env is one ``height x width`` int8 grid shared by ``num_snakes`` snakes, walled
``vision`` cells deep. Snakes move in index order (later snakes see earlier moves),
die on walls or bodies, leave every other segment as an edible corpse and respawn at
once. Observations are the ``(2*vision+1)^2`` window around each head.

Differences from the C reference (PufferLib 3.0 ``ocean/snake``), on purpose:

- ``terminals[i]`` is set on the step a snake dies (its episode ends: that is when the
  log counts it); the C env never writes terminals. Truncations are written (always False:
  there is no step limit).
- ``reset()`` clears the whole grid before respawning snakes and food, so a reset gives
  the same world for the same seed whatever happened before (the C reset keeps old food
  and corpses and adds ``num_food`` more).
- The observation space declares ``high=7`` (the values really observed); the C
  declares 2.
- Actions outside ``[0, 4)`` raise ``APIUsageError`` (the C treats them as "no move",
  which kills the snake).
- Spawning draws random cells as the C does; after 1024 rejected draws it scans the
  grid for a free cell, and a food item that finds none is not placed (the C loops
  forever on a full grid).
"""
from __future__ import annotations

import gymnasium
import numpy as np
from numba import njit, prange

from pufferlib.exceptions import APIUsageError
from pufferlib.ocean.core import (CTX_HEADER, CTX_NUM_ENVS, LOG_DTYPE, NumbaEnv, address, as_array1,
                                  as_array2, as_array3, as_array4, begin_reset, begin_step, check_float,
                                  check_int, clear_log, compile_drivers, end_step)
from pufferlib.ocean.rng import rand_below, seed_state

EMPTY, FOOD, CORPSE, WALL = 0, 1, 2, 3
NUM_ACTIONS = 4  # up, down, left, right
SPAWN_TRIES = 1024

#: One record per env: RNG, tick and the env's configuration.
ENV_DTYPE = np.dtype([
    ("rng", np.uint64), ("tick", np.int32), ("width", np.int32), ("height", np.int32),
    ("vision", np.int32), ("num_snakes", np.int32), ("num_food", np.int32), ("max_len", np.int32),
    ("leave_corpse", np.int32), ("reward_food", np.float32), ("reward_corpse", np.float32),
    ("reward_death", np.float32)], align=True)
#: One record per snake; the body is a ring buffer in ``bodies[env, snake, max_len, 2]``.
SNAKE_DTYPE = np.dtype([
    ("head_r", np.int32), ("head_c", np.int32), ("head_ptr", np.int32), ("length", np.int32),
    ("color", np.int32), ("ep_length", np.int32), ("ep_return", np.float32)], align=True)


# ---- kernels (one source: njit here, cuda device functions in pufferlib.cuda_kernels) ----
@njit(cache=True, inline="always")
def spawn_cell(envs, e, grid):
    """A random EMPTY or CORPSE cell of env ``e`` as ``(row, col)``; ``(-1, -1)`` if none."""
    env = envs[e]
    h = env["height"]
    w = env["width"]
    for _ in range(SPAWN_TRIES):
        r = rand_below(env, h - 1)
        c = rand_below(env, w - 1)
        t = grid[e, r, c]
        if t == EMPTY or t == CORPSE:
            return r, c
    start = rand_below(env, h * w)
    for k in range(h * w):
        cell = (start + k) % (h * w)
        r = cell // w
        c = cell - r * w
        t = grid[e, r, c]
        if t == EMPTY or t == CORPSE:
            return r, c
    return -1, -1


@njit(cache=True, inline="always")
def spawn_food(envs, e, grid):
    """Put one FOOD on a random free cell of env ``e`` (none if the grid is full)."""
    r, c = spawn_cell(envs, e, grid)
    if r >= 0:
        grid[e, r, c] = FOOD


@njit(cache=True, inline="always")
def respawn(envs, snakes, bodies, grid, e, s):
    """Delete snake ``s``'s body (corpse rule) and place it, length 1, on a free cell."""
    env = envs[e]
    sn = snakes[e, s]
    max_len = env["max_len"]
    length = sn["length"]
    ptr = sn["head_ptr"]
    leave = env["leave_corpse"] != 0
    for k in range(length):
        idx = ptr - k
        if idx < 0:
            idx += max_len
        r = bodies[e, s, idx, 0]
        c = bodies[e, s, idx, 1]
        if leave and (length - k) % 2 == 0:
            grid[e, r, c] = CORPSE
        else:
            grid[e, r, c] = EMPTY
        bodies[e, s, idx, 0] = -1
        bodies[e, s, idx, 1] = -1
    r, c = spawn_cell(envs, e, grid)
    bodies[e, s, 0, 0] = r
    bodies[e, s, 0, 1] = c
    sn["head_r"] = r
    sn["head_c"] = c
    sn["head_ptr"] = 0
    sn["length"] = 1
    sn["ep_length"] = 0
    sn["ep_return"] = 0.0
    grid[e, r, c] = sn["color"]


@njit(cache=True, inline="always")
def reset_env(envs, snakes, bodies, grid, logs, e):
    """Fresh world for env ``e``: walls, every snake respawned in index order, food (spec: Reset)."""
    env = envs[e]
    h = env["height"]
    w = env["width"]
    v = env["vision"]
    env["tick"] = 0
    for r in range(h):
        for c in range(w):
            if r < v or r >= h - v or c < v or c >= w - v:
                grid[e, r, c] = WALL
            else:
                grid[e, r, c] = EMPTY
    for s in range(env["num_snakes"]):
        for k in range(env["max_len"]):
            bodies[e, s, k, 0] = -1
            bodies[e, s, k, 1] = -1
        sn = snakes[e, s]
        sn["length"] = 0
        sn["head_ptr"] = 0
        sn["color"] = 7 if s == 0 else (s % 4) + 4
        respawn(envs, snakes, bodies, grid, e, s)
    for _ in range(env["num_food"]):
        spawn_food(envs, e, grid)
    clear_log(logs, e)


@njit(cache=True, inline="always")
def step_env(envs, snakes, bodies, grid, logs, e, actions, rewards, terminals, truncations):
    """Move every snake of env ``e`` in index order (spec: Step, 1-2)."""
    env = envs[e]
    env["tick"] += 1
    ns = env["num_snakes"]
    max_len = env["max_len"]
    for s in range(ns):
        agent = e * ns + s
        sn = snakes[e, s]
        sn["ep_length"] += 1
        terminals[agent] = False
        truncations[agent] = False
        a = actions[agent]
        dr = 0
        dc = 0
        if a == 0:
            dr = -1
        elif a == 1:
            dr = 1
        elif a == 2:
            dc = -1
        else:
            dc = 1
        hr = sn["head_r"]
        hc = sn["head_c"]
        ptr = sn["head_ptr"]
        nr = hr + dr
        nc = hc + dc
        neck = ptr - 1
        if neck < 0:
            neck += max_len
        if bodies[e, s, neck, 0] == nr and bodies[e, s, neck, 1] == nc:
            nr = hr - dr
            nc = hc - dc
        tile = grid[e, nr, nc]
        if tile >= WALL:
            reward = env["reward_death"]
            rewards[agent] = reward
            terminals[agent] = True
            length = sn["length"]
            lg = logs[e]
            lg["episode_return"] += sn["ep_return"] + reward
            lg["episode_length"] += sn["ep_length"]
            lg["score"] += length
            lg["perf"] += length / sn["ep_length"]
            lg["n"] += 1.0
            respawn(envs, snakes, bodies, grid, e, s)
            continue
        ptr += 1
        if ptr == max_len:
            ptr = 0
        bodies[e, s, ptr, 0] = nr
        bodies[e, s, ptr, 1] = nc
        sn["head_ptr"] = ptr
        sn["head_r"] = nr
        sn["head_c"] = nc
        grow = False
        if tile == FOOD:
            rewards[agent] = env["reward_food"]
            sn["ep_return"] += env["reward_food"]
            spawn_food(envs, e, grid)
            grow = True
        elif tile == CORPSE:
            rewards[agent] = env["reward_corpse"]
            sn["ep_return"] += env["reward_corpse"]
            grow = True
        else:
            rewards[agent] = 0.0
        length = sn["length"]
        if grow and length < max_len - 1:
            sn["length"] = length + 1
        else:
            tail = ptr - length
            if tail < 0:
                tail += max_len
            grid[e, bodies[e, s, tail, 0], bodies[e, s, tail, 1]] = EMPTY
            bodies[e, s, tail, 0] = -1
            bodies[e, s, tail, 1] = -1
        grid[e, nr, nc] = sn["color"]


@njit(cache=True, inline="always")
def observe_one(envs, snakes, grid, obs, e, s):
    """Write snake ``s`` of env ``e``'s egocentric window into its observation row."""
    env = envs[e]
    v = env["vision"]
    agent = e * env["num_snakes"] + s
    sn = snakes[e, s]
    r0 = sn["head_r"] - v
    c0 = sn["head_c"] - v
    for i in range(2 * v + 1):
        for j in range(2 * v + 1):
            obs[agent, i, j] = grid[e, r0 + i, c0 + j]


# ---- CPU drivers --------------------------------------------------------------------
@njit(cache=True, inline="always")
def _unpack(ctx):
    n = ctx[CTX_NUM_ENVS]
    h = CTX_HEADER
    width, height, ns, max_len, view = ctx[h], ctx[h + 1], ctx[h + 2], ctx[h + 3], ctx[h + 4]
    envs = as_array1(ctx[h + 5], n, ENV_DTYPE)
    snakes = as_array2(ctx[h + 6], n, ns, SNAKE_DTYPE)
    bodies = as_array4(ctx[h + 7], n, ns, max_len, 2, np.int16)
    grid = as_array3(ctx[h + 8], n, height, width, np.int8)
    logs = as_array1(ctx[h + 9], n, LOG_DTYPE)
    obs = as_array3(ctx[h + 10], n * ns, view, view, np.int8)
    rewards = as_array1(ctx[h + 11], n * ns, np.float32)
    terminals = as_array1(ctx[h + 12], n * ns, np.bool_)
    truncations = as_array1(ctx[h + 13], n * ns, np.bool_)
    actions = as_array1(ctx[h + 14], n * ns, np.int32)
    return n, ns, envs, snakes, bodies, grid, logs, obs, rewards, terminals, truncations, actions


def _step_driver(ctx, user_actions):
    n, ns, envs, snakes, bodies, grid, logs, obs, rewards, terminals, truncations, actions = _unpack(ctx)
    err = begin_step(ctx, user_actions, actions, NUM_ACTIONS)
    if err != 0:
        return err
    for e in prange(n):
        step_env(envs, snakes, bodies, grid, logs, e, actions, rewards, terminals, truncations)
    # Env-major loops: a flat prange over agents with // and % on the (possibly
    # unsigned) prange index was 10x slower in Numba 0.68.
    for e in prange(n):
        for s in range(ns):
            observe_one(envs, snakes, grid, obs, e, s)
    return end_step(ctx)


def _reset_driver(ctx, seed):
    n, ns, envs, snakes, bodies, grid, logs, obs, rewards, terminals, truncations, actions = _unpack(ctx)
    for e in prange(n):
        envs[e]["rng"] = seed_state(np.int64(seed[0]) + np.int64(e), 0)
        reset_env(envs, snakes, bodies, grid, logs, e)
        for s in range(ns):
            observe_one(envs, snakes, grid, obs, e, s)
            agent = e * ns + s
            rewards[agent] = 0.0
            terminals[agent] = False
            truncations[agent] = False
    begin_reset(ctx)
    return 0


#: (reset_serial, step_serial, reset_parallel, step_parallel)
DRIVERS = compile_drivers(_step_driver, _reset_driver)


class Snake(NumbaEnv):
    """Snake (``shared/specs/snake.md``): ``num_envs`` grids of ``num_snakes`` snakes each.

    Args:
        num_envs: grids, >= 1. Agents = ``num_envs * num_snakes``, agent ``e*num_snakes + s``
            is snake ``s`` of env ``e``.
        width, height: grid columns and rows, each >= ``2*vision + 2`` (cells).
        num_snakes: snakes per grid, >= 1.
        num_food: food items per grid, kept constant (each eaten one respawns), >= 0.
        vision: view radius and wall thickness, >= 1; observations are
            ``(2*vision+1, 2*vision+1)``.
        leave_corpse_on_death: every other segment of a dead snake becomes edible CORPSE.
        reward_food, reward_corpse, reward_death: rewards for eating food, eating a corpse, dying.
        max_snake_length: ring-buffer capacity; default ``min(1024, width*height)``.
        log_interval: ``step`` reports logs every this many calls (the spec's report_interval).
        num_threads: CPU threads (process-wide Numba setting); parallel when > 1 and num_envs >= 2.
        buf: buffers from a vectorizer (see :func:`pufferlib.set_buffers`), or None.
        seed: default seed; env ``e`` is seeded with ``seed + e``.

    Spaces: observation ``Box(0, 7, (2v+1, 2v+1), int8)`` with cell codes 0 empty, 1 food,
    2 corpse, 3 wall, 4..7 snake bodies (snake 0: 7, snake s>=1: s%4+4), head at the centre;
    action ``Discrete(4)``: up (row-1), down, left (col-1), right.
    Rewards float32 (assigned each step): ``reward_death`` on death, ``reward_food`` /
    ``reward_corpse`` when eating, else 0.

    Log fields (means per death): ``perf`` (length / steps lived), ``score`` (length at
    death), ``episode_return``, ``episode_length``, and ``n`` (deaths).

    ``state(env_id)``: ``grid`` (height, width) int8; ``snakes`` (num_snakes,) records with
    ``head_r, head_c, head_ptr, length, color, ep_length, ep_return``; ``bodies``
    (num_snakes, max_snake_length, 2) int16 ring buffers of (row, col), free slots -1;
    ``tick`` () int32.

    Raises:
        APIUsageError: invalid configuration (the message names the parameter).
    """

    def __init__(self, num_envs=16, width=640, height=360, num_snakes=256, num_food=4096, vision=5,
                 leave_corpse_on_death=True, reward_food=0.1, reward_corpse=0.1, reward_death=-1.0,
                 max_snake_length=1024, log_interval=128, num_threads=1, buf=None, seed=0):
        self.num_envs = check_int("num_envs", num_envs, 1)
        self.vision = check_int("vision", vision, 1, 60)
        min_side = 2 * self.vision + 2
        self.width = check_int("width", width, min_side, 32000)
        self.height = check_int("height", height, min_side, 32000)
        self.num_snakes = check_int("num_snakes", num_snakes, 1)
        self.num_food = check_int("num_food", num_food, 0)
        interior = (self.width - 2 * self.vision) * (self.height - 2 * self.vision)
        if self.num_snakes + self.num_food > interior:
            raise APIUsageError(
                f"num_snakes + num_food = {self.num_snakes + self.num_food} do not fit in the "
                f"{interior} free cells of a {self.width}x{self.height} grid with vision {self.vision}")
        self.max_snake_length = min(check_int("max_snake_length", max_snake_length, 2),
                                    self.width * self.height)
        self.rewards_config = {k: check_float(k, v) for k, v in (
            ("reward_food", reward_food), ("reward_corpse", reward_corpse), ("reward_death", reward_death))}
        side = 2 * self.vision + 1
        self.single_observation_space = gymnasium.spaces.Box(low=0, high=7, shape=(side, side), dtype=np.int8)
        self.single_action_space = gymnasium.spaces.Discrete(NUM_ACTIONS)
        self.num_agents = self.num_envs * self.num_snakes
        super().__init__(buf, num_threads=num_threads, log_interval=log_interval, seed=seed)

        self.envs = np.zeros(self.num_envs, ENV_DTYPE)
        for name, value in (("width", self.width), ("height", self.height), ("vision", self.vision),
                            ("num_snakes", self.num_snakes), ("num_food", self.num_food),
                            ("max_len", self.max_snake_length),
                            ("leave_corpse", int(bool(leave_corpse_on_death)))):
            self.envs[name] = value
        for name, value in self.rewards_config.items():
            self.envs[name] = value
        self.snakes = np.zeros((self.num_envs, self.num_snakes), SNAKE_DTYPE)
        self.bodies = np.full((self.num_envs, self.num_snakes, self.max_snake_length, 2), -1, np.int16)
        self.grid = np.zeros((self.num_envs, self.height, self.width), np.int8)
        self.logs = np.zeros(self.num_envs, LOG_DTYPE)
        self._finish_init(
            [self.width, self.height, self.num_snakes, self.max_snake_length, side,
             address(self.envs), address(self.snakes), address(self.bodies), address(self.grid),
             address(self.logs), address(self.observations), address(self.rewards),
             address(self.terminals), address(self.truncations), address(self.actions)],
            DRIVERS)

    def _state(self, env_id):
        return {"grid": self.grid[env_id], "snakes": self.snakes[env_id], "bodies": self.bodies[env_id],
                "tick": self.envs["tick"][env_id, ...]}
